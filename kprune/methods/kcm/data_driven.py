"""KCM's Data-Driven ranking (D2): how much each FFN neuron contributes to its layer's output on
unlabeled calibration text, read from one forward pass of the unpruned model.

D2_n = (1/N_tok) · Σ_t a_t,n² · ‖v_n‖², the mean energy of the neuron's term v_n·a_t,n in the
FFN output (a_t,n: its post-activation value at non-pad token t; v_n: its column of W_out).
A neuron that never fires, or whose output column is zero, scores 0. Reads no labels, takes
no gradients and changes no weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch
from kprune.forward import output_projection, sublayer_forward
from kprune.sublayer import FFN, Sublayer, sublayer_count, sublayer_index
from kprune.tokens import TokenLayout


@torch.no_grad()
def data_driven_scores(access: EncoderAccess, batches: Sequence[PreparedBatch]) -> torch.Tensor:
    """[layers, neurons] float64 on the CPU: D2 of every FFN neuron (layers of equal width)."""
    layers = len(access.layers)
    squared: dict[int, torch.Tensor] = {}
    tokens = 0
    for batch in batches:
        x = access.embed(batch.inputs)
        layout = TokenLayout(batch.inputs["attention_mask"], x.dtype, packed=False)
        for index in range(sublayer_count(layers)):
            out = sublayer_forward(access, index, x, layout)
            if Sublayer(index).is_ffn:
                sums = layout.rows(out.features).double().pow(2).sum(dim=0)
                squared[index] = squared[index] + sums if index in squared else sums
            x = out.output
        tokens += batch.num_tokens
    rows = []
    for layer in range(layers):
        index = sublayer_index(layer, FFN)
        column_energy = output_projection(access, index).weight.double().pow(2).sum(dim=0)
        rows.append(squared[index] / tokens * column_energy)
    return torch.stack(rows).cpu()
