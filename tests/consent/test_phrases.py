"""Revocations in other words: a corpus of what people write, with what must flag and what
must not (near-misses with the same words in other senses)."""

from __future__ import annotations

import pytest

from inbox.consent.phrases import looks_like_opt_out

FLAGS = [
    "please stop texting me",
    "Stop texting me",
    "stop messaging me",
    "Stop sending me these messages",
    "stop sending me texts",
    "quit texting me",
    "Please quit messaging this number",
    "cease contacting me",
    "remove me from your list",
    "Remove me from your mailing list please",
    "please remove my number from your list",
    "take me off your list",
    "Take my number off",
    "delete me from your texts",
    "don't text me again",
    "Do not text me",
    "dont message me anymore",
    "never text me again",
    "do not contact me",
    "don\u2019t call or text me",
    "unsubscribe me please",
    "How do I unsubscribe?",
    "I want to unsubscribe from this",
    "opt me out",
    "Opt out please",
    "I'd like to opt-out",
    "no more texts",
    "No more messages please",
    "I don't want these texts",
    "I don't want any more messages",
    "i do not want your texts",
    "I didn't sign up for this",
    "I never subscribed to anything",
    "Leave me alone",
    "please leave me alone",
    "stop it",
    "Stop this now",
    "please stop",
    "stop please",
    "STOP NOW",
    "Stop already",
    "stop the texts",
    "stop all messages",
    "wrong person, please stop texting",
    "I'm not interested, stop messaging me",
    "Quit spamming me",
    "stop bothering me",
    "No longer contact me",
]

NOT_FLAGS = [
    "stop by tomorrow",
    "I'll stop by the store later",
    "can you end the call",
    "cancel my order",
    "I need to cancel my appointment",
    "Can we stop at 5pm?",
    "don't stop",
    "Don't stop the music",
    "end of the day works",
    "That will end soon",
    "I quit my job last week",
    "please remove the charge from my bill",
    "take me off the waitlist",
    "remove me from the meeting invite",
    "Can you text me the address?",
    "Text me when you arrive",
    "I want more information",
    "yes please send it",
    "What time do you close?",
    "my bus stop is near you",
    "non-stop flights only",
    "Please call me back",
    "I didn't get the message",
    "Thanks, no more questions",
    "Is the offer still on?",
    "stopwatch",
]


@pytest.mark.parametrize("phrase", FLAGS)
def test_a_revocation_in_other_words_flags(phrase: str) -> None:
    assert looks_like_opt_out(phrase)


@pytest.mark.parametrize("phrase", NOT_FLAGS)
def test_a_near_miss_does_not_flag(phrase: str) -> None:
    assert not looks_like_opt_out(phrase)


def test_the_corpus_is_large_enough() -> None:
    assert len(FLAGS) + len(NOT_FLAGS) >= 60
