"""Revocations of consent in other words ("please stop texting me", "remove me from your
list"): the FCC counts any reasonable way of saying it (47 CFR 64.1200(a)(10)). They are not
acted on alone: the conversation is flagged for a person to record the opt-out or dismiss it.

Patterns over the normalized text (``keywords.normalize``), chosen against the corpus in
``tests/consent/test_phrases.py``, which also holds the near-misses that must not flag ("stop by
tomorrow", "can you end the call", "cancel my order").
"""

from __future__ import annotations

import re

from inbox.consent.keywords import normalize

_TEXTS = r"(?:texts?|txts?|texting|txting|messages?|messaging|msgs?|sms|notifications?|alerts?)"
_CONTACT = (
    r"(?:text(?:ing)?|txt(?:ing)?|messag(?:e|ing)|msg|sms|contact(?:ing)?|call(?:ing)?"
    r"|e-?mail(?:ing)?|spam(?:ming)?|bother(?:ing)?|pester(?:ing)?|harass(?:ing)?)"
)
_CONTACTS = rf"{_CONTACT}(?:\s+(?:or|and|/)\s+{_CONTACT})*"
_LIST = r"(?:list|mailing list|texts?|messages?|sms|contacts?|database|system|number list)"
_WHICH = r"(?:all\s+|the\s+|these\s+|those\s+|your\s+|any\s+|this\s+)?"

_PATTERNS = [
    # stop texting me / quit messaging / cease contacting / stop sending me (these) texts
    rf"\b(?:stop|quit|cease|discontinue)\s+{_WHICH}(?:{_CONTACTS}|sending(?:\s+me)?\s+{_WHICH}{_TEXTS}|{_TEXTS})\b",
    rf"\bend\s+{_WHICH}{_TEXTS}\b",
    # don't text me / do not message me again / never call or text me
    rf"\b(?:don'?t|do\s+not|dont|never|no\s+longer)\s+(?:ever\s+)?{_CONTACTS}\s+(?:me|us|this\s+number)\b",
    # remove me from your list / take my number off your texts / delete me from your system
    rf"\b(?:remove|delete|take|drop|get)\s+(?:me|my\s+number|this\s+number|us)\s+(?:from|off|out\s+of)\s+{_WHICH}{_LIST}\b",
    r"\b(?:take|get)\s+(?:me|my\s+number)\s+off(?:\s+(?:please|now))?$",
    # unsubscribe / opt out / opt me out (inside a longer message)
    r"\bunsubscribe\b",
    r"\bopt(?:ing)?[-\s]?(?:me\s+)?out\b",
    # no more texts / i don't want (any more of) these texts / i never signed up for this
    rf"\bno\s+more\s+{_TEXTS}\b",
    rf"\b(?:i\s+)?(?:don'?t|do\s+not|dont)\s+want\s+(?:any\s*more\s+|these\s+|your\s+|any\s+)?{_TEXTS}\b",
    r"\bi\s+(?:didn'?t|did\s+not|never)\s+(?:sign(?:ed)?\s+up|subscribe|consent|agree)",
    r"\bleave\s+me\s+alone\b",
    r"\b(?:stop|quit)\s+(?:it|this)\b\s*(?:now|please)?$",
    # a short message that is only a plea to stop: "please stop", "stop please", "stop now"
    r"^(?:please\s+)?(?:stop|quit)(?:\s+(?:please|now|already|immediately))*$",
]
_COMPILED = [re.compile(pattern) for pattern in _PATTERNS]


def looks_like_opt_out(body: str) -> bool:
    """Whether ``body`` may revoke consent in words other than a keyword."""
    text = normalize(body).replace("\u2019", "'")  # a typographic apostrophe
    return any(pattern.search(text) for pattern in _COMPILED)
