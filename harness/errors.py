"""Base error type of the benchmark harness; every typed harness error subclasses it."""


class HarnessError(Exception):
    """An error the harness raises on purpose, with a message that says what to do about it."""
