"""Templates: merge fields render, unknown ones are caught, the sandbox holds."""

from __future__ import annotations

import pytest

from inbox.rules import templates

FACTS = {
    "contact.name": "Ada Lovelace",
    "contact.first_name": "Ada",
    "contact.phone": "+14155550100",
    "contact.fields.company": "Analytical Engines",
    "assignee.name": None,
    "inbox.name": "Support",
}


def test_merge_fields_render() -> None:
    context = templates.context_from_facts(FACTS)
    source = "Hi {{ contact.first_name }} from {{ contact.fields.company }} ({{ inbox.name }})"
    assert templates.render(source, context) == "Hi Ada from Analytical Engines (Support)"
    # Unset values and missing custom fields render empty, not "None" and not an error.
    assert templates.render("[{{ assignee.name }}][{{ contact.fields.nope }}]", context) == "[][]"


def test_check_finds_unknown_fields_and_syntax_errors() -> None:
    assert templates.check("{{ contact.first_name }} {{ contact.fields.anything }}") == []
    assert templates.check("{{ contact.nmae }}") == [
        "unknown merge field 'contact.nmae' (did you mean 'contact.name'?)"
    ]
    assert templates.check("{{ secrets }}") == ["unknown merge field 'secrets'"]
    assert templates.check("{% for t in conversation.tags %}{{ t }}{% endfor %}") == []
    assert templates.check("{{ oops") == [
        "template error: unexpected end of template, expected 'end of print statement'. "
        "(template line 1)"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__class__ }}{{ contact.update({'x': 1}) }}",
        "{{ inbox.clear() }}",
    ],
)
def test_sandbox_blocks_escapes_and_mutation(source: str) -> None:
    context = templates.context_from_facts(FACTS)
    try:
        rendered = templates.render(source, context)
    except templates.TemplateProblem:
        return
    assert "class" not in rendered and "subclasses" not in rendered
    assert context["inbox"] == {"name": "Support"}


def test_fields_used_names_what_a_template_reads() -> None:
    used = templates.fields_used(
        "Hi {{ contact.first_name }} ({{ contact.fields.company }}), {{ inbox['next_open'] }}"
    )
    assert used == {"contact.first_name", "contact.fields", "inbox.next_open"}
    assert templates.fields_used("No merge fields") == frozenset()
    # A root used whole (or a template that does not parse) could read anything: all facts.
    assert templates.fields_used("{% set c = contact %}{{ c.name }}") is None
    assert templates.fields_used("{{ contact }}") is None
    assert templates.fields_used("{% if %}") is None
