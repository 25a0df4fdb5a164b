"""Deterministic Temporal workflow code only: no I/O, clocks or randomness outside the SDK."""
