"""`kprune-bench report`: stored runs -> a study -> one document -> report.html (self-contained)
and report.md with its figures as SVG files under figures/.

The orchestration of `study`, the table and figure modules and the two renderers; it reads
results files (through `study`) and writes the report folder, and never measures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from harness.report.comparability import MEANING
from harness.report.document import Block, Document
from harness.report.html_page import render_html, svg_text
from harness.report.markdown_page import render_markdown
from harness.report.point_tables import accuracy_table, structure_table
from harness.report.setup_header import header_table
from harness.report.study import Study, build_study
from harness.report.study_figures import heatmap_figure, pareto_figure, speedup_figure
from harness.report.study_tables import amdahl_table, dense_table, pairs_table, speedup_table
from harness.results.atomic_files import replace_text

log = logging.getLogger(__name__)

FIGURE_FOLDER = "figures"


def _introduction(study: Study) -> list[str]:
    runs = sorted({(s.run_label, s.path) for s in study.setups})
    lines = ["Runs: " + "; ".join(f"{label} = {path}" for label, path in runs) + "."]
    lines += [f"Skipped (unreadable): {problem}" for problem in study.skipped]
    lines.append(
        "A setup is one run's rows on one device. Classes of a pair of setups: "
        + "; ".join(f"{c}: {meaning}" for c, meaning in MEANING.items())
        + ". Speedups are each setup's pruned time against its own dense time, timed "
        "interleaved, so they compare across every class; absolute milliseconds of two "
        "setups are shown side by side and never divided."
    )
    dims = [
        f"{label}: d={d.hidden_size}, d_h={d.head_size} ({d.source})" if d else f"{label}: unknown"
        for label, d in study.dims.items()
    ]
    lines.append("Encoder widths used for the predicted speedup: " + "; ".join(dims) + ".")
    return lines


TABLES: tuple[tuple[str, str, str, Callable[[Study], pd.DataFrame]], ...] = (
    ("setups", "Setups", "One row per setup: what it ran on and with what.", header_table),
    (
        "comparability",
        "Comparability of each pair",
        "Why each pair got its class (fields that differ are listed).",
        pairs_table,
    ),
    (
        "dense-latency",
        "Dense latency per setup × runtime × shape (absolute)",
        "Median ms with the bootstrap 95% CI of the median and the sample count. Absolute "
        "numbers compare only between class-A setups; across class C they are side by side, "
        "never divided.",
        dense_table,
    ),
    (
        "speedup",
        "Speedup vs the same setup's dense, next to the predicted speedup",
        "measured: pruned vs dense of the same setup, runtime and shape (95% CI). predicted: "
        "1 / kept FLOPs counted at the timed seq from the point's heads and neurons per layer "
        "(spec §7; the stored 'ideal' uses the calibration mean length instead). efficiency: "
        "measured / predicted. Amdahl: the speedup left once the fixed share of the next "
        "table is taken out.",
        speedup_table,
    ),
    (
        "amdahl",
        "Where the missing speedup went (Amdahl split of the dense time)",
        "fixed share f: least-squares fit of 1/speedup = f + (1 - f) x kept ratio over the "
        "pruned points of a setup, runtime and shape: the part of the dense time that does "
        "not shrink with heads and neurons (embeddings, LayerNorms, classifier, launch "
        "overhead, memory-bound glue). shrinkable ms = what pruning heads and neurons acts on.",
        amdahl_table,
    ),
    (
        "accuracy",
        "Accuracy per method × ratio",
        "The point's reference metric (PyTorch float32), then every runtime (ORT, fp16, "
        "another device) whose own metric differs, with the difference; ⚑ beyond the run's "
        "task.onnx_metric_tolerance.",
        accuracy_table,
    ),
    (
        "structure",
        "Pruned structures and 8-element alignment",
        "Heads and FFN neurons kept per layer. ⚑ marks FFN widths and attention widths "
        "(heads x head size) that are not multiples of 8, which fp16 tensor cores want "
        "(prune with <method>.round_to=8 to keep them aligned).",
        structure_table,
    ),
)
"""(key, title, note, table builder) of every table, in report order."""


def _table_blocks(study: Study) -> list[Block]:
    return [Block(key, title, note, build(study)) for key, title, note, build in TABLES]


def _figure_blocks(study: Study) -> list[Block]:
    figures = [
        (
            "speedup-vs-flops",
            "Speedup vs kept FLOPs, one line per setup",
            speedup_figure(study),
            "Ideal 1/ratio dashed; x is the kept FLOPs ratio at the timed seq.",
        ),
        (
            "pareto",
            "Accuracy vs latency per setup",
            pareto_figure(study),
            "Absolute ms: compare panels only between class-A setups.",
        ),
        (
            "heatmap",
            "Speedup over batch × seq per setup",
            heatmap_figure(study),
            "Where pruning pays off and where fixed costs eat it.",
        ),
    ]
    return [
        Block(key, title, note, figure=fig) for key, title, fig, note in figures if fig is not None
    ]


def study_document(study: Study) -> Document:
    """Every table and figure of the study in report order."""
    title = "Hardware comparison study: " + ", ".join(s.label for s in study.setups)
    return Document(title, _introduction(study), [*_table_blocks(study), *_figure_blocks(study)])


def write_report(paths: Iterable[Path | str], out_dir: Path | str) -> list[Path]:
    """Write report.html, report.md and figures/*.svg for the runs under `paths`; returns the
    written files. An unreadable run is named in the report and skipped."""
    document = study_document(build_study(paths))
    out = Path(out_dir)
    (out / FIGURE_FOLDER).mkdir(parents=True, exist_ok=True)
    written, figure_files = [], {}
    for block in document.blocks:
        if block.figure is not None:
            path = out / FIGURE_FOLDER / f"{block.key}.svg"
            replace_text(path, svg_text(block.figure))
            figure_files[block.key] = f"{FIGURE_FOLDER}/{path.name}"
            written.append(path)
    for name, text in (
        ("report.html", render_html(document)),
        ("report.md", render_markdown(document, figure_files)),
    ):
        replace_text(out / name, text)
        written.append(out / name)
    return written
