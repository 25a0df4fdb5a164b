"""The automation rule language: YAML rules in ``rules/``, validated, loaded and evaluated.

Kept import-light on purpose: the conversation workflow imports the pure modules
(``payloads``, ``engine``, ``conditions``, ``durations``) inside Temporal's sandbox.
"""
