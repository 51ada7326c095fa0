"""Make a config's sweep ready to run offline: install the bundled assets it reads and build its
model once per seed (fine-tune an encoder, convert a GGUF decoder), both cached. Runs no point.
"""

from __future__ import annotations

import logging

from harness.config.schema import BenchmarkConfig
from harness.data.assets import ASSETS, install_assets
from harness.sweep.preflight import preflight
from harness.sweep.steps import steps_for

log = logging.getLogger(__name__)


def prepare(config: BenchmarkConfig, *, install: bool = True, progress: bool = True) -> None:
    """Install the config's missing bundled assets (optional) and fine-tune / load its model."""
    if install:
        install_assets(needed_assets(config))
    preflight(config, {}, devices=False)  # the model and task only: no sweep runs here
    load_inputs = steps_for(config).load_inputs
    for seed in config.seeds:  # each seed's fine-tuned model, trained once and cached
        inputs = load_inputs(config, progress=progress, calibrate=False, seed=seed)
        log.info("ready: %s (seed %d)", inputs.description, seed)


def needed_assets(config: BenchmarkConfig) -> list[str]:
    """Bundled assets the config reads: the task's data and, when fine-tuned, the encoder; a
    decoder sweep's texts and GGUF asset."""
    if config.language_model is not None:
        from harness.data.texts import TEXTS

        lm = config.language_model
        texts = (lm.eval_text, lm.calibration_text)
        names = [TEXTS[text].asset for text in texts if text in TEXTS]  # or your own files
        names += [config.model.name] if config.model.source == "gguf" and config.model.name else []
        return [name for name in dict.fromkeys(names) if name in ASSETS]
    names = [config.task.name]
    if config.model.source == "finetuned":
        from harness.models.finetune import preset

        spec = preset(config.model.name or config.task.name)
        names += [spec.base, spec.task]
    return [name for name in dict.fromkeys(names) if name in ASSETS]
