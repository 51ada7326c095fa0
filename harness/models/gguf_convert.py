"""Convert a quantized GGUF decoder (e.g. the bundled SmolLM2-135M-Instruct) into a plain float32
safetensors checkpoint with its tokenizer, cached by the GGUF file's content hash.

transformers dequantizes GGUF weights on load but the loaded model keeps the quantization config
and refuses `save_pretrained`; a fresh model built from the config without it takes the weights.
The cache entry appears only complete (`cache.atomic_dir`). Never prunes or measures.
"""

from __future__ import annotations

import argparse
import collections
import importlib.metadata
import importlib.util
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness.data.assets import ASSETS, locate_asset
from harness.errors import MeasuredFailure, UsageError
from harness.models import cache
from harness.models.finetune import default_cache_dir

log = logging.getLogger(__name__)

DEFAULT_SOURCE = "smollm2"
GGUF_PACKAGES = ("gguf", "accelerate")  # transformers' GGUF loader imports both
INSTALL_HINT = 'pip install "kprune-bench[decoder]" (or: pip install gguf accelerate)'
CONVERTER_VERSION = 1  # bump when the conversion changes what is written
_PROBE_TOKENS = 8


class GgufUnavailableError(UsageError):
    """Reading a GGUF file needs packages that are not installed."""


class GgufSourceError(UsageError):
    """The GGUF source is neither a bundled asset name nor an existing .gguf file."""


class ConversionMismatchError(MeasuredFailure):
    """The float32 copy does not reproduce the dequantized model's logits."""


@dataclass(frozen=True)
class ConvertedModel:
    """A cached float32 checkpoint directory and its manifest; `reused` if it was cached."""

    path: Path
    manifest: dict[str, Any]
    reused: bool = False


def require_gguf_support() -> None:
    """Raise GgufUnavailableError naming the install command when a GGUF package is missing."""
    missing = [name for name in GGUF_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise GgufUnavailableError(
            f"reading a GGUF file needs the package(s) {missing}, which are not installed; "
            f"install them with: {INSTALL_HINT}"
        )


def gguf_path(source: str | Path) -> Path:
    """The .gguf file of a bundled asset name or a path; GgufSourceError otherwise."""
    path = locate_asset(str(source)) if str(source) in ASSETS else Path(source)
    if path.suffix != ".gguf" or not path.is_file():
        raise GgufSourceError(
            f"{source!r} is not a GGUF file; give a bundled decoder asset "
            f"({[n for n, a in ASSETS.items() if a.relative_path.endswith('.gguf')]}) "
            "or the path of a .gguf file"
        )
    return path


def tensor_types(path: Path) -> dict[str, int]:
    """How many tensors of the file are stored in each GGUF type (e.g. {"Q4_1": 210, ...})."""
    from gguf import GGUFReader

    counts = collections.Counter(t.tensor_type.name for t in GGUFReader(str(path)).tensors)
    return dict(counts.most_common())


def weights_note(types: dict[str, int]) -> str:
    """What the float32 weights really are, e.g. "Q4_1 GGUF dequantized to float32"."""
    quantized = [name for name in types if name not in ("F32", "F16", "BF16")]
    main = quantized[0] if quantized else "unquantized"  # types come most common first
    return f"{main} GGUF dequantized to float32"


def _float32_copy(loaded: torch.nn.Module) -> torch.nn.Module:
    """A plain model of the same class built from the config minus its quantization config."""
    config: Any = loaded.config
    plain = {k: v for k, v in config.to_dict().items() if k != "quantization_config"}
    fresh_config = type(config).from_dict(plain)
    model: torch.nn.Module = type(loaded)(fresh_config).to(torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    return model.eval()


def _check_same_logits(reference: torch.nn.Module, copy: torch.nn.Module, vocab: int) -> None:
    ids = torch.arange(_PROBE_TOKENS)[None, :] % vocab
    with torch.inference_mode():
        expected, actual = reference(input_ids=ids).logits, copy(input_ids=ids).logits
    diff = float((expected - actual).abs().max())
    if diff != 0.0:  # the same float32 weights through the same code: bit-identical
        raise ConversionMismatchError(f"the float32 copy's logits differ by {diff:.3g}")


def _convert_into(path: Path, out: Path, manifest: dict[str, Any]) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    loaded: Any = AutoModelForCausalLM.from_pretrained(
        path.parent, gguf_file=path.name, dtype=torch.float32, local_files_only=True
    )
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model: Any = _float32_copy(loaded.eval())
    _check_same_logits(loaded, model, int(loaded.config.vocab_size))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    manifest = {
        **manifest,
        "architecture": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "convert_s": round(time.perf_counter() - start, 2),
        "library_versions": {
            **cache.library_versions(),
            **{name: importlib.metadata.version(name) for name in GGUF_PACKAGES},
        },
    }
    cache.write_json(out / cache.MANIFEST, manifest)


def convert_gguf(
    source: str | Path = DEFAULT_SOURCE, cache_dir: Path | None = None
) -> ConvertedModel:
    """Return the cached float32 checkpoint of `source`, converting it first when absent."""
    require_gguf_support()
    path = gguf_path(source)
    types = tensor_types(path)
    manifest: dict[str, Any] = {
        "source": str(source),
        "source_file": path.name,
        "source_sha256": cache.file_sha256(path),
        "weights": weights_note(types),
        "gguf_tensor_types": types,
        "dtype": "float32",
        "converter_version": CONVERTER_VERSION,
    }
    key = cache.key_of({k: manifest[k] for k in ("source_sha256", "dtype", "converter_version")})
    final = Path(cache_dir or default_cache_dir()) / "models" / f"{path.stem}-float32-{key}"
    if final.exists():
        return ConvertedModel(final, cache.read_manifest(final), reused=True)
    with cache.atomic_dir(final) as temp:
        _convert_into(path, temp, {**manifest, "cache_key": key})
    log.info("cached the float32 conversion of %s at %s", path.name, final)
    return ConvertedModel(final, cache.read_manifest(final))


def main(argv: list[str] | None = None) -> int:
    """Convert a GGUF decoder to a cached float32 checkpoint and log what was written."""
    parser = argparse.ArgumentParser(
        prog="python -m harness.models.gguf_convert", description=main.__doc__
    )
    parser.add_argument("source", nargs="?", default=DEFAULT_SOURCE, help="asset name or .gguf")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = convert_gguf(args.source, args.cache_dir)
    m = result.manifest
    log.info(
        "%s: %s parameters, %s, converted in %s s, %s: %s",
        m["source_file"],
        f"{m['parameters']:,}",
        m["weights"],
        m["convert_s"],
        "reused" if result.reused else "converted",
        result.path,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
