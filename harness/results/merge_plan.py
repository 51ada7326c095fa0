"""What a merge knows about the plan and about which duplicate wins: the plan's keys and order
(recorded by each shard, so whole missing shards are named too), and `--prefer` rules.

Pure: sources and rows in, choices out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError
from harness.results.keys import measurement_key
from harness.results.merge_sources import Source

log = logging.getLogger(__name__)

Keyed = tuple[Source, Any]
PREFER_KINDS = ("newest", "oldest", "shard", "run")


@dataclass(frozen=True)
class Preference:
    """Which run wins a conflict: `newest`/`oldest` (by the run's creation time), `shard:N`
    (the shard with index N), or `run:ID` (a run id, or its start)."""

    kind: str
    value: str = ""

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.value}" if self.value else self.kind

    def pick(self, pool: Sequence[Keyed]) -> Keyed | None:
        """The one candidate this preference names, or None when it names none or several."""
        rank = _rank
        if self.kind == "newest":
            return max(pool, key=lambda k: (k[0].created_utc, k[0].run_id))
        if self.kind == "oldest":
            return min(pool, key=lambda k: (k[0].created_utc, k[0].run_id))
        if self.kind == "shard":
            named = [k for k in pool if k[0].shard_index == int(self.value)]
        else:
            named = [k for k in pool if k[0].run_id.startswith(self.value)]
        return min(named, key=rank) if len({k[0].run_id for k in named}) == 1 else None


def parse_preference(text: str | None) -> Preference | None:
    """`newest`, `oldest`, `shard:N` or `run:ID` -> a `Preference` (None for None)."""
    if text is None:
        return None
    kind, _, value = text.partition(":")
    valid = kind in ("newest", "oldest") and not value
    valid |= kind == "shard" and value.isdigit()
    valid |= kind == "run" and bool(value)
    if not valid:
        raise UsageError(
            f"--prefer {text!r}: write newest, oldest, shard:N (a shard index) or run:RUN_ID"
        )
    return Preference(kind, value)


def _rank(keyed: Keyed) -> tuple[Any, ...]:
    """The default order among expected repeats: lowest shard index, then oldest, then id."""
    source = keyed[0]
    index = source.shard_index if source.shard_index is not None else 1 << 30
    return (index, source.created_utc, source.run_id)


def distinct(candidates: Sequence[Keyed]) -> list[Keyed]:
    out: list[Keyed] = []
    for keyed in candidates:
        if not any(keyed[1] == seen[1] for seen in out):
            out.append(keyed)
    return out


def choose(
    candidates: Sequence[Keyed], prefer: Preference | None, *, repeats_allowed: bool
) -> tuple[Keyed | None, bool]:
    """(kept candidate or None for an unresolved conflict, whether `prefer` settled a conflict).
    A measured row beats an errored one; equal rows are one; expected repeats (the dense point
    on one device) and errored-only keys take `prefer`, else the default order."""
    measured = distinct([k for k in candidates if k[1].error is None])
    pool = measured or distinct(candidates)
    if len(pool) == 1:
        return pool[0], False
    named = prefer.pick(pool) if prefer is not None else None
    if not measured or repeats_allowed:
        return (named or min(pool, key=_rank)), False
    return named, named is not None


def _plan(sources: Sequence[Source]) -> list[str]:
    for source in sorted(sources, key=lambda s: s.run_id):
        if source.shard:
            return list(source.shard["plan_trial_keys"])
    return []


def plan_order(sources: Sequence[Source]) -> Callable[[str], tuple[int, str]]:
    """Sort key of a trial key (or `point_key + "|"`): plan order, then keys outside the plan."""
    plan = _plan(sources)
    index = {key: i for i, key in enumerate(plan)}
    for i, key in reversed(list(enumerate(plan))):
        index[key.split("|", 1)[0] + "|"] = i
    return lambda key: (index.get(key, len(plan)), key)


def missing_keys(sources: Sequence[Source], measured: Sequence[Any]) -> list[str]:
    """Planned trial keys (from the shards' records) that no kept row measured."""
    present = {measurement_key(m) for m in measured}
    return [key for key in _plan(sources) if key not in present]


def shard_of(sources: Sequence[Source], key: str) -> int | None:
    """The shard index a trial key's point belongs to (None: the dense point, in every shard,
    or no shard record)."""
    point = key.split("|", 1)[0]
    for source in sources:
        if source.shard:
            found = [i for i, keys in enumerate(source.shard["assignment"]) if point in keys]
            return found[0] if len(found) == 1 else None
    return None
