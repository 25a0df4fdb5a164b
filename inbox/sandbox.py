"""The Jinja sandbox every template runs in (agents' merge fields, rule actions, the merge
field preview), with limits on what one render may cost.

Jinja's ``ImmutableSandboxedEnvironment`` stops a template from reaching Python internals or
changing data, but not from building a huge value: ``{{ 'a' * 200000000 }}`` allocated 200 MB
and stalled the web process. This one also refuses, before the value is built:

- any string or list longer than ``max_output`` characters made with ``*``, ``+``, ``~``,
  ``%``, ``format`` or the widening filters and methods (``center``, ``indent``, ``replace``,
  ``ljust`` …), and powers with more than a few thousand digits;
- more than :data:`MAX_LOOP_STEPS` loop iterations in one render (every ``for`` counts);
- output past ``max_output`` characters (the render stops there).

A refusal is a :class:`TemplateLimit` (a ``SecurityError``), which callers already report as
a template problem, never as a crash.
"""

from __future__ import annotations

import contextvars
import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import Template, nodes, sandbox
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Far above any SMS (1,600 characters), note or webhook field a template makes.
MAX_OUTPUT_CHARS = 20_000
MAX_LOOP_STEPS = 100_000
MAX_POWER_DIGITS = 1_000
# Names the compiled templates call; a template may call them itself, to no harm.
_ITER = "__sandbox_loop"
_CONCAT = "__sandbox_concat"
# A number in a %-format or {}-format spec: a width or a precision.
_FORMAT_NUMBERS = re.compile(r"\d+")
_STR_WIDENERS = {"center", "ljust", "rjust", "zfill", "expandtabs"}


class TemplateLimit(SecurityError):
    """A template asked for more than a render may cost."""


_steps: contextvars.ContextVar[list[int]] = contextvars.ContextVar("sandbox_steps")


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox that refuses oversized values and runaway loops (see module)."""

    intercepted_binops = frozenset({"*", "+", "%", "**"})

    def __init__(self, *, max_output: int = MAX_OUTPUT_CHARS, **options: Any) -> None:
        # No constant folding: the optimizer would evaluate expressions at compile time,
        # outside every check below.
        super().__init__(optimized=False, **options)
        self.max_output = max_output
        self.globals[_ITER] = self._loop
        self.globals[_CONCAT] = self._concat
        for name, check in (
            ("center", lambda value, width=80, *_: self._room(_len(value) + _int(width))),
            ("indent", self._indent_room),
            ("replace", self._replace_room),
            ("format", lambda value, *args, **kw: self._format_room(str(value), args, kw)),
        ):
            self.filters[name] = _checked(FILTERS[name], check)

    # -- checks ---------------------------------------------------------------------------

    def _room(self, size: int) -> None:
        if size > self.max_output:
            raise TemplateLimit(
                f"the template builds a value of {size:,} characters; "
                f"the limit is {self.max_output:,}"
            )

    def _indent_room(self, value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
        text = str(value)
        each = _int(width) if not isinstance(width, str) else len(width)
        self._room(len(text) + (text.count("\n") + 1) * each)

    def _replace_room(self, value: Any, old: Any = "", new: Any = "", *_: Any) -> None:
        text, old, new = str(value), str(old), str(new)
        count = text.count(old) if old else len(text) + 1
        self._room(len(text) + count * max(0, len(new) - len(old)))

    def _format_room(self, text: str, args: Iterable[Any], kwargs: dict[str, Any]) -> None:
        widths = [int(n) for n in _FORMAT_NUMBERS.findall(text) if len(n) < 12]
        star = [a for a in args if isinstance(a, int) and "*" in text]
        self._room(len(text) + sum(widths) + sum(star))
        if any(len(n) >= 12 for n in _FORMAT_NUMBERS.findall(text)):
            raise TemplateLimit("a format width is too large")

    # -- the hooks Jinja calls ------------------------------------------------------------

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if _size(seq) is not None and isinstance(count, int):
                    self._room(_size(seq) * max(count, 0))  # type: ignore[operator]
        elif operator == "+":
            if _size(left) is not None and _size(right) is not None:
                self._room(_size(left) + _size(right))  # type: ignore[operator]
        elif operator == "%" and isinstance(left, str):
            args = right if isinstance(right, tuple) else (right,)
            self._format_room(left, args, {})
        elif (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * math.log10(abs(left)) > MAX_POWER_DIGITS
        ):
            raise TemplateLimit(f"the power has more than {MAX_POWER_DIGITS:,} digits")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            if name in _STR_WIDENERS:
                widths = [a for a in (*args, *kwargs.values()) if isinstance(a, int)]
                width = max(widths, default=8 if name == "expandtabs" else 0)
                # expandtabs widens every tab; the others pad the whole string once.
                times = owner.count("\t") if name == "expandtabs" else 1
                __self._room(len(owner) + width * times)
            elif name == "replace":
                __self._replace_room(owner, *args)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = str(value.__self__)

        def checked(*args: Any, **kwargs: Any) -> str:
            self._format_room(template, args, kwargs)
            return wrapped(*args, **kwargs)

        return checked

    def _loop(self, iterable: Any) -> Iterator[Any]:
        steps = _steps.get(None)
        for item in iterable:
            if steps is not None:
                steps[0] -= 1
                if steps[0] < 0:
                    raise TemplateLimit(f"the template loops more than {MAX_LOOP_STEPS:,} times")
            yield item

    def _concat(self, *parts: Any) -> str:
        text = "".join(str(part) for part in parts)
        self._room(len(text))
        return text

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        """Route every loop and every ``~`` through the checks before compiling."""
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name(_ITER, "load"), [loop.iter], [], None, None)
        for parent in source.find_all(nodes.Node):
            for field in parent.fields:
                child = getattr(parent, field, None)
                if isinstance(child, nodes.Concat):
                    setattr(parent, field, _concat_call(child))
                elif isinstance(child, list):
                    setattr(
                        parent,
                        field,
                        [_concat_call(c) if isinstance(c, nodes.Concat) else c for c in child],
                    )
        return super()._generate(source, name, filename, defer_init)

    # -- rendering ------------------------------------------------------------------------

    def render_limited(self, template: Template, context: dict[str, Any]) -> str:
        """Render ``template`` within the limits: TemplateLimit when one is passed."""
        token = _steps.set([MAX_LOOP_STEPS])
        try:
            out: list[str] = []
            size = 0
            for chunk in template.generate(context):
                size += len(chunk)
                if size > self.max_output:
                    raise TemplateLimit(
                        f"the template's output passes {self.max_output:,} characters"
                    )
                out.append(chunk)
            return "".join(out)
        finally:
            _steps.reset(token)


_UNSAFE_NAMES = (
    sandbox.UNSAFE_GENERATOR_ATTRIBUTES
    | sandbox.UNSAFE_COROUTINE_ATTRIBUTES
    | sandbox.UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
    | {"mro", "func_globals", "func_code"}
)
_MUTATORS = frozenset().union(*(names for _, names in sandbox._mutable_spec))


def refusals(parsed: nodes.Template) -> list[str]:
    """What in a parsed template the sandbox will refuse when it runs, found without running
    it: internal attributes (``__class__``, ``_private``, ``gi_frame`` …, also as
    ``x['__class__']`` or ``x|attr('__class__')``) and calls that would change data
    (``.append()``, ``.update()`` …). At render time these are silently empty or fail."""
    found: list[str] = []
    for node in parsed.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Call)):
        name: object = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            arg = node.args[0]
            name = arg.value if isinstance(arg, nodes.Const) else None
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            if node.node.attr in _MUTATORS:
                found.append(
                    f"the sandbox refuses '.{node.node.attr}()': templates cannot change data"
                )
            continue
        if isinstance(name, str) and (name.startswith("_") or name in _UNSAFE_NAMES):
            found.append(f"the sandbox refuses attribute '{name}' (internal to Python)")
    return sorted(set(found))


def _concat_call(node: nodes.Concat) -> nodes.Call:
    return nodes.Call(nodes.Name(_CONCAT, "load"), list(node.nodes), [], None, None)


def _len(value: Any) -> int:
    return len(str(value))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _checked(filter_: Callable[..., Any], check: Callable[..., None]) -> Callable[..., Any]:
    """``filter_`` preceded by ``check`` on the same arguments."""

    def run(*args: Any, **kwargs: Any) -> Any:
        check(*args, **kwargs)
        return filter_(*args, **kwargs)

    run.__name__ = getattr(filter_, "__name__", "filter")
    # Jinja passes the environment or context to filters that ask for it: keep asking.
    if hasattr(filter_, "jinja_pass_arg"):
        run.jinja_pass_arg = filter_.jinja_pass_arg  # type: ignore[attr-defined]
    return run
