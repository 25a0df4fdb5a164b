"""SMS consent, as pure rules: opt-out, opt-in and help keywords, revocations in other words,
and the quiet hours of a contact's time zone. The records live in ``inbox/services/consent.py``.
"""
