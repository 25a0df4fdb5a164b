"""The consent keywords a contact texts: opt-out (STOP …), opt-in (START …) and help (HELP …).

A message is a keyword only as a whole message: trimmed, case-folded, with the punctuation,
symbols and emoji around it removed and full-width letters read as plain ones, so "Stop.",
" stop ", "STOP!!", "Stop 🙏" and STOP in full-width letters are all STOP, and "please stop
texting me" is not (it may still look like an opt-out: ``inbox/consent/phrases.py``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

# Twilio's Advanced Opt-Out defaults plus the FCC's words (47 CFR 64.1200(a)(10)).
OPT_OUT_WORDS = (
    "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
    "OPT OUT",
)  # fmt: skip
OPT_IN_WORDS = ("START", "YES", "UNSTOP")
HELP_WORDS = ("HELP", "INFO")


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def normalize(text: str) -> str:
    """``text`` as keywords are compared: full-width forms folded (NFKC), case-folded, the
    characters around it that are not letters or digits removed, inner spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    start, end = 0, len(folded)
    while start < end and not folded[start].isalnum():
        start += 1
    while end > start and not folded[end - 1].isalnum():
        end -= 1
    return " ".join(folded[start:end].split())


@dataclass(frozen=True)
class KeywordLists:
    """The words of each kind (configurable in Settings → Compliance)."""

    opt_out: tuple[str, ...] = OPT_OUT_WORDS
    opt_in: tuple[str, ...] = OPT_IN_WORDS
    help: tuple[str, ...] = HELP_WORDS
    _index: dict[str, Keyword] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Keyword] = {}
        for kind, words in (
            (Keyword.HELP, self.help),
            (Keyword.OPT_IN, self.opt_in),
            (Keyword.OPT_OUT, self.opt_out),  # last: an opt-out word wins a clash
        ):
            for word in words:
                if normalized := normalize(word):
                    index[normalized] = kind
        object.__setattr__(self, "_index", index)

    @classmethod
    def of(
        cls, opt_out: Iterable[str], opt_in: Iterable[str], help_words: Iterable[str]
    ) -> KeywordLists:
        return cls(tuple(opt_out), tuple(opt_in), tuple(help_words))

    def classify(self, body: str) -> Keyword | None:
        """The keyword ``body`` is as a whole message, or None."""
        return self._index.get(normalize(body))
