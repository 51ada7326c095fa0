"""Kprune's first knowledge pass on a decoder config, per sublayer: the mean predictive term P and
the mean weighted representational term λ_rep·R of its units, for plain (soft) and sampled
predictive targets. It shows why plain Kprune cuts a pre-norm decoder's lowest sublayers first:
P is zero at the first pass and R grows with the residual stream (docs/decoder.md).

``PYTHONPATH=. python tools/first_pass_knowledge.py [CONFIG] [--set KEY=VALUE ...] [--csv OUT]``
(CONFIG: a decoder preset or TOML file, default ``decoder``; the model must be prepared).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import pandas as pd
import torch

from harness.config.load import apply_overrides, load_config
from harness.config.methods import method_config
from harness.sweep.lm_stages import load_inputs
from kprune import KpruneConfig
from kprune.arch import EncoderAccess
from kprune.methods.budget import frozen_copy, prepare_copy
from kprune.methods.kprune.measure import KnowledgePass
from kprune.sublayer import Sublayer


def first_pass(
    model: torch.nn.Module, batches: list, options: KpruneConfig, target: str
) -> pd.DataFrame:
    """``options``: the config's Kprune settings (rep_weight, seed, ...); the ratio is unused."""
    config = dataclasses.replace(options, predictive_target=target)  # type: ignore[arg-type]
    run = prepare_copy(model, batches, config)
    passes = KnowledgePass(
        EncoderAccess(frozen_copy(model, "cpu")), run.access, run.batches, config
    )
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)  # as the Kprune loop seeds its run
        knowledge = passes.measure(0).knowledge
    rows = []
    for index, pred in knowledge.predictive.items():
        sub = Sublayer(index)
        p = float((pred / knowledge.sequences).mean())
        r = float((config.rep_weight * knowledge.representational[index] / knowledge.tokens).mean())
        rows.append(
            {
                "sublayer": index,
                "layer": sub.layer,
                "kind": "ffn" if sub.is_ffn else "attention",
                f"P_{target}": p,
                "lambda_R": r,
                f"P_{target}/lambda_R": p / r if r else float("nan"),
            }
        )
    return pd.DataFrame(rows).set_index("sublayer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="decoder")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--csv", help="also write the table here")
    args = parser.parse_args(argv)
    config = apply_overrides(load_config(args.config), args.overrides)
    if config.language_model is None:
        print(f"{args.config}: not a decoder config (no [language_model] section)", file=sys.stderr)
        return 2
    inputs = load_inputs(config, progress=False, calibrate=True)
    # the sweep's own Kprune settings ([kprune] table and --set kprune.*), not KpruneConfig's
    options = method_config(config.method_options, "kprune", 0.5, config.budget)
    soft = first_pass(inputs.model, inputs.batches, options, "soft")
    sampled = first_pass(inputs.model, inputs.batches, options, "sampled")
    table = soft.join(sampled[["P_sampled", "P_sampled/lambda_R"]])
    with pd.option_context("display.max_rows", None, "display.width", 160):
        print(table.to_string(float_format=lambda v: f"{v:.3g}"))
    if args.csv:
        table.to_csv(args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
