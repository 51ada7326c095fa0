"""The harness's one error hierarchy, split by what the user must do about an error.

- `UsageError` (exit 2): the command, config, a path, a model or the setup must change
  (bad config, missing file or asset, unsupported model, missing device). kprune's own
  `KpruneError`s are usage errors too: they reject a model or a config.
- `MeasuredFailure` (exit 1): a stage ran and failed (parity gate, metric gate, a timing child).
Every typed error subclasses one of the two; `exit_code` is the only place that maps them.
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class HarnessError(Exception):
    """An error the harness raises on purpose, with a message that says what to do about it."""


class UsageError(HarnessError):
    """Fix the command, the config, a path or the setup, then run again (exit 2)."""


class MeasuredFailure(HarnessError):
    """A stage ran and its result failed a check, or the stage itself failed (exit 1)."""


class ConfigError(UsageError, ValueError):
    """A configuration key or value is unknown, mistyped or out of range."""


def is_usage_error(error: BaseException) -> bool:
    """Whether `error` means "change the input" rather than "a measurement failed"."""
    if isinstance(error, UsageError):
        return True
    from kprune import KpruneError  # lazily: results and reports must not load torch

    return isinstance(error, KpruneError)


def exit_code(error: BaseException) -> int:
    """2 for usage errors, 1 for everything else that was raised."""
    return EXIT_USAGE if is_usage_error(error) else EXIT_FAILED
