"""Seconds spent per named phase of a pruning step (forward, backward, knowledge, Gram, search,
solve, cut), so a prune log says where its time went without a profiler.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class PhaseTimer:
    """Accumulates wall seconds per phase name.

    sync: called at each phase boundary when given (torch.cuda.synchronize on a GPU), so queued
    kernels are charged to the phase that launched them rather than to a later one.
    """

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self._sync = sync

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self._sync is not None:
            self._sync()
        started = time.perf_counter()
        try:
            yield
        finally:
            if self._sync is not None:
                self._sync()
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
