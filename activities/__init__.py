"""Temporal activities: every side effect a workflow causes happens here."""
