"""Stage a wheel for a machine that receives files in pieces of at most 64 MiB, and rebuild it
there: ``python tools/gpu_wheel.py stage WHEEL DEST`` / ``rebuild ARCHIVE WORKDIR``.

`stage` re-compresses the wheel's files as one .tar.xz (CUDA kernels compress far better with
xz than with a wheel's per-file deflate: fewer pieces to carry) and splits it into folders
DEST/p1 .. DEST/pN, each with its piece (`part.NN`), NAME (the archive's file name) and SHA256
(of the whole archive). `rebuild` checks every extracted file against the wheel's own RECORD
hashes and zips the wheel again for `pip install --no-index --no-deps --target`.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

PART_MIB = 56  # the working tree travels too, and a transfer holds at most 64 MiB in all
ARCHIVE_SUFFIX = ".tar.xz"


def _xz(tar_path: Path) -> Path:
    """`tar_path` compressed with xz -9e (all cores); the tar is removed."""
    if shutil.which("xz") is None:
        raise SystemExit("stage: the xz program is needed to re-compress the wheel")
    subprocess.run(["xz", "-9e", "-T0", "-f", str(tar_path)], check=True)
    return tar_path.with_name(tar_path.name + ".xz")


def stage(wheel: Path, dest: Path, part_mib: int = PART_MIB) -> list[Path]:
    """Re-compress `wheel` and split it into DEST/p1..pN; returns the part folders."""
    dest.mkdir(parents=True, exist_ok=True)
    tar_path = dest / (wheel.name.removesuffix(".whl") + ".tar")
    with zipfile.ZipFile(wheel) as source, tarfile.open(tar_path, "w") as tar:
        for info in source.infolist():
            if info.is_dir():  # a wheel may list its folders; RECORD lists files only
                continue
            data = source.read(info)
            entry = tarfile.TarInfo(info.filename)
            entry.size, entry.mode = len(data), 0o644
            tar.addfile(entry, io.BytesIO(data))
    archive = _xz(tar_path)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    folders = []
    with archive.open("rb") as handle:
        while piece := handle.read(part_mib * 1024 * 1024):
            folder = dest / f"p{len(folders) + 1}"
            folder.mkdir(exist_ok=True)
            (folder / f"part.{len(folders):02d}").write_bytes(piece)
            (folder / "NAME").write_text(archive.name + "\n")
            (folder / "SHA256").write_text(digest + "\n")
            folders.append(folder)
    archive.unlink()
    return folders


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def _check_record(files: dict[str, bytes]) -> None:
    """Every file the wheel's RECORD lists is there with its recorded sha256, and no other."""
    (record_name,) = [n for n in files if n.endswith(".dist-info/RECORD")]
    rows = list(csv.reader(io.StringIO(files[record_name].decode())))
    listed = {row[0]: row[1] for row in rows if row}
    bad = [n for n, h in listed.items() if h and _record_hash(files.get(n, b"")) != h]
    extra = sorted(set(files) - set(listed))
    if bad or extra:
        raise SystemExit(f"rebuild: files differ from the wheel's RECORD: {bad[:5]} {extra[:5]}")


def rebuild(archive: Path, workdir: Path) -> Path:
    """The wheel inside `archive` (from `stage`), checked against its RECORD; returns its path."""
    with tarfile.open(archive, "r:xz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and not m.name.endswith("/")]
        files = {m.name: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    _check_record(files)
    workdir.mkdir(parents=True, exist_ok=True)
    wheel = workdir / (archive.name.removesuffix(ARCHIVE_SUFFIX) + ".whl")
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as target:
        for name, data in files.items():
            target.writestr(name, data)
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    staging = commands.add_parser("stage", help="re-compress and split a wheel")
    staging.add_argument("wheel", type=Path)
    staging.add_argument("dest", type=Path)
    staging.add_argument("--part-mib", type=int, default=PART_MIB)
    rebuilding = commands.add_parser("rebuild", help="check and re-zip a staged wheel")
    rebuilding.add_argument("archive", type=Path)
    rebuilding.add_argument("workdir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "stage":
        for folder in stage(args.wheel, args.dest, args.part_mib):
            size = sum(p.stat().st_size for p in folder.glob("part.*"))
            sys.stdout.write(f"{folder}: {size / 2**20:.1f} MiB\n")
    else:
        sys.stdout.write(f"{rebuild(args.archive, args.workdir)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
