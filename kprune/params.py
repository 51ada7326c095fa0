"""Parameter counts for a budget in parameters (the alternative to FLOPs): what one attention unit
and one FFN neuron carry, and what no unit carries. Reads module shapes through kprune.arch;
never changes a model.

Counted as PyTorch stores them: every tensor of `model.parameters()` once, so tied input/output
embeddings count once and untied ones twice. A unit carries its q/k/v rows (weights and biases)
and its o_proj columns; a neuron its FFN input rows (SwiGLU: gate and up, with biases) and its
output column. Output biases, norms, embeddings and task/LM heads are carried by no unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from kprune.arch import EncoderAccess
from kprune.errors import KpruneError


def _numel(module: object) -> int:
    bias = getattr(module, "bias", None)
    return int(module.weight.numel()) + (int(bias.numel()) if bias is not None else 0)  # type: ignore[attr-defined]


def unit_parameters(access: EncoderAccess) -> tuple[int, int]:
    """(parameters of one attention unit, of one FFN neuron), from the first layer that has
    units of each kind; every layer of a Llama/BERT-style model has the same per-unit counts."""
    layers = range(len(access.layers))
    unit = next((i for i in layers if access.num_units(i) > 0), None)
    ffn = next((i for i in layers if access.num_neurons(i) > 0), None)
    if unit is None or ffn is None:
        raise KpruneError("the model has no attention unit or no FFN neuron left to count")
    unit_total = sum(_numel(access.module(unit, r)) for r in ("query", "key", "value"))
    unit_total += int(access.module(unit, "attn_out").weight.numel())
    neuron_total = sum(_numel(access.module(ffn, r)) for r in access.ffn_input_roles())
    neuron_total += int(access.module(ffn, "ffn_out").weight.numel())
    per_unit, unit_rest = divmod(unit_total, access.num_units(unit))
    per_neuron, neuron_rest = divmod(neuron_total, access.num_neurons(ffn))
    assert unit_rest == 0 and neuron_rest == 0, "unit parameters split evenly by construction"
    return per_unit, per_neuron


@dataclass(frozen=True)
class ParamsReport:
    """Parameters of the original and the pruned model within ``scope`` ("model": all of them,
    shared tensors once; "sublayers": those the prunable units carry)."""

    original: int
    achieved: int
    scope: str
    target: float | None = None  # the budget in parameters; None when the run was budgeted in FLOPs

    @property
    def ratio(self) -> float:
        """Achieved kept/original parameter ratio."""
        return self.achieved / self.original
