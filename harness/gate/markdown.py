"""The job summary a CI page shows (`$GITHUB_STEP_SUMMARY`): the verdict first, then the FAIL,
ERROR and WARN rows, then every check folded away; kept under 1 MiB. Also at most 10 `::error`
workflow annotations. Pure text.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.gate.outcome import Check, GateOutcome

SUMMARY_LIMIT_BYTES = 1024 * 1024
"""GitHub rejects a step summary above 1 MiB."""
MAX_ANNOTATIONS = 10
_COLUMNS = ("verdict", "check", "estimate", "CI", "baseline", "floor", "rounds", "why")
_HEADER = "| " + " | ".join(_COLUMNS) + " |\n" + "|---" * len(_COLUMNS) + "|"


def _number(value: object, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(check: Check) -> str:
    n = check.numbers
    ci = f"[{_number(n.get('ci_low'))}, {_number(n.get('ci_high'))}]" if "ci_low" in n else "-"
    if check.kind == "accuracy":
        estimate, baseline, floor = n.get("candidate"), n.get("baseline"), None
    else:
        estimate, baseline, floor = n.get("estimate"), n.get("baseline"), n.get("floor")
    rounds = str(n.get("rounds", "-"))
    if n.get("retries"):
        rounds += " (confirmed)"
    why = check.reason + (f" — {'; '.join(check.differences)}" if check.differences else "")
    cells = [
        f"**{check.verdict}**",
        f"`{_cell(check.name)}`",
        _number(estimate),
        ci,
        _number(baseline),
        _number(floor),
        rounds,
        _cell(why),
    ]
    return "| " + " | ".join(cells) + " |"


def _headline(outcome: GateOutcome) -> str:
    counts = ", ".join(
        f"{outcome.count(v)} {v}" for v in ("FAIL", "ERROR", "WARN", "IMPROVED", "PASS")
    )
    return f"## kprune-bench gate: {outcome.verdict} (exit {outcome.exit_code})\n\n{counts}\n"


def _table(rows: Sequence[str], budget: int) -> str:
    """Header and as many rows as fit in `budget` bytes (a note says how many were left out)."""
    kept: list[str] = []
    used = len(_HEADER.encode()) + 1
    for row in rows:
        size = len(row.encode()) + 1
        if used + size > budget:
            kept.append(f"\n_{len(rows) - len(kept)} more rows left out (size cap); see gate.json_")
            break
        kept.append(row)
        used += size
    return "\n".join([_HEADER, *kept])


def step_summary(outcome: GateOutcome, limit_bytes: int = SUMMARY_LIMIT_BYTES) -> str:
    """Markdown: headline, notes, the rows that need a look, then every row folded; < limit."""
    head = _headline(outcome)
    notes = "".join(f"> {note}\n" for note in outcome.notes)
    attention = [_row(c) for c in outcome.checks if c.verdict in ("FAIL", "ERROR", "WARN")]
    budget = limit_bytes - len((head + notes).encode()) - 512  # folding markup and newlines
    parts = [head, notes]
    if attention:
        parts.append(_table(attention, budget // 2) + "\n")
    folded = _table([_row(c) for c in outcome.checks], budget // 2)
    summary = f"<summary>All {len(outcome.checks)} checks</summary>"
    parts.append(f"\n<details>{summary}\n\n{folded}\n\n</details>\n")
    return "".join(parts)


def _escape(text: str) -> str:
    """Workflow-command data escaping (%, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def error_annotations(outcome: GateOutcome) -> list[str]:
    """`::error` lines for the FAIL checks, then the ERROR checks; at most 10."""
    failing = [c for c in outcome.checks if c.verdict == "FAIL"]
    failing += [c for c in outcome.checks if c.verdict == "ERROR"]
    return [
        f"::error title=kprune-bench gate {c.verdict}::{_escape(f'{c.name}: {c.reason}')}"
        for c in failing[:MAX_ANNOTATIONS]
    ]
