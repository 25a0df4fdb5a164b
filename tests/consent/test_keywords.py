"""Consent keywords: whole messages in any of the forms phones and people produce."""

from __future__ import annotations

import pytest

from inbox.consent.keywords import Keyword, KeywordLists, normalize

LISTS = KeywordLists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # every default word, as typed
        *[(word, Keyword.OPT_OUT) for word in LISTS.opt_out],
        *[(word, Keyword.OPT_IN) for word in LISTS.opt_in],
        *[(word, Keyword.HELP) for word in LISTS.help],
        # odd forms of one
        ("Stop.", Keyword.OPT_OUT),
        (" stop ", Keyword.OPT_OUT),
        ("STOP!!", Keyword.OPT_OUT),
        ("Stop 🙏", Keyword.OPT_OUT),
        ("\uff33\uff34\uff2f\uff30", Keyword.OPT_OUT),  # full-width letters
        ("stop\n", Keyword.OPT_OUT),
        ('"STOP"', Keyword.OPT_OUT),
        ("stop  all", Keyword.OPT_OUT),
        ("Opt out", Keyword.OPT_OUT),
        ("Unsubscribe.", Keyword.OPT_OUT),
        ("start!", Keyword.OPT_IN),
        ("Yes.", Keyword.OPT_IN),
        ("help?", Keyword.HELP),
        ("Info", Keyword.HELP),
        # not a keyword as a whole message
        ("stop by tomorrow", None),
        ("please stop texting me", None),
        ("I want to cancel my order", None),
        ("yes please", None),
        ("helpful, thanks", None),
        ("stopped", None),
        ("s t o p", None),
        ("", None),
        ("🙏", None),
    ],
)
def test_a_keyword_is_a_whole_message_in_any_form(body: str, expected: Keyword | None) -> None:
    assert LISTS.classify(body) == expected


def test_the_lists_are_configurable_and_an_opt_out_word_wins_a_clash() -> None:
    lists = KeywordLists.of(["ARRET", "Stop"], ["go", "stop"], ["aide"])
    assert lists.classify("arrêt".replace("ê", "e")) == Keyword.OPT_OUT
    assert lists.classify("STOP") == Keyword.OPT_OUT
    assert lists.classify("Go!") == Keyword.OPT_IN
    assert lists.classify("aide") == Keyword.HELP
    assert lists.classify("help") is None  # not in these lists


def test_normalize() -> None:
    assert normalize("  ¡¡Stop   All!!  ") == "stop all"
    assert normalize("\uff28\uff25\uff2c\uff30") == "help"
