"""Kwon et al. step 4 (spec §12): layer-wise least-squares mask tuning. Bottom to top, each
sublayer gets one real scale per kept head / neuron so that the student's pre-LN output matches
the teacher's:

    min_s ‖Σ_i s_i·u_i − target‖² + damping²·‖s − 1‖²   ⇔   (G + damping²·I) s = Aᵀb + damping²·1

u_i(t) = W_out[:, dims of i] · features_i(t) (unit i's contribution to the output at token t),
target = teacher pre-LN output − output bias − student input, over non-pad tokens. G and Aᵀb are
built from kprune.gram's streamed float64 statistics of the per-dim features, so no N_tok × units
× d tensor is formed: G = block-sum((AᵀA) ∘ (WᵀW)), Aᵀb = block-sum(rowsum((AᵀB) ∘ Wᵀ)).
The scales live in "unit gates" (0 = pruned); nothing here changes weights or decides masks.

The reference runs CuPy LSMR (damp 1, around scale 1); we solve the same damped normal equations
exactly (Cholesky, float64). The spec's extra shared offset for MHA is not fitted: one scale per
kept unit, nothing else, so the scales fold into W_out without touching its bias.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from kprune.arch import EncoderAccess
from kprune.calibration import PreparedBatch
from kprune.forward import output_bias, output_projection, sublayer_forward
from kprune.gram import GramAccumulator
from kprune.result import SublayerLog, sublayer_log
from kprune.sublayer import Sublayer, feature_gate, kept_features, sublayer_count
from kprune.tokens import TokenLayout

log = logging.getLogger(__name__)

SCALE_LIMIT = 10.0
"""The reference rejects a solution with any scale outside [-10, 10] (§11.2 quirk 3)."""


@dataclass(frozen=True)
class ScaleOutcome:
    scales: torch.Tensor | None  # [kept units] float64; None: scales stay 1 (see note)
    residual_before: float  # ‖Σ u_i − target‖² / ‖target‖² (all scales 1)
    residual_after: float  # same with the scales kept
    note: str


def scale_log(
    index: int,
    keep: torch.Tensor,
    outcome: ScaleOutcome | None,
    off_note: str,
    *,
    seconds: float,
    ridge: float,
    predictive_total: float = 0.0,
    representational_total: float = 0.0,
) -> SublayerLog:
    """The log entry of a sublayer whose kept units were (or, outcome None, were not) rescaled
    by least squares: Kwon et al.'s mask tuning and KCM's rescaling share it."""
    totals = dict(predictive_total=predictive_total, representational_total=representational_total)
    if outcome is None:
        return sublayer_log(index, keep, off_note, seconds=seconds, **totals)
    return sublayer_log(
        index,
        keep,
        outcome.note,
        residual_before=outcome.residual_before,
        residual_after=outcome.residual_after,
        tuned=outcome.scales is not None,
        ridge=ridge,
        seconds=seconds,
        **totals,
    )


def _relative(gram: torch.Tensor, cross: torch.Tensor, energy: float, s: torch.Tensor) -> float:
    value = float(s @ gram @ s - 2.0 * (s @ cross)) + energy
    return max(value, 0.0) / energy if energy > 0 else 0.0


def unit_system(
    stats: GramAccumulator, weight: torch.Tensor, group: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit (G [n, n], Aᵀb [n]) from per-dim stats; weight: kept W_out columns [d, n·group]."""
    assert stats.gram is not None and stats.cross is not None, "no rows accumulated"
    w = weight.detach().double().to(stats.gram.device)
    dim_gram = stats.gram * (w.T @ w)
    dim_cross = (stats.cross * w.T).sum(dim=1)
    n = dim_cross.numel() // group
    return dim_gram.view(n, group, n, group).sum(dim=(1, 3)), dim_cross.view(n, group).sum(dim=1)


def solve_unit_scales(
    stats: GramAccumulator, weight: torch.Tensor, group: int, damping: float
) -> ScaleOutcome:
    """Damped solve centred at 1; any n ≥ 1 (the reference crashes at n = 1, quirk 4)."""
    gram, cross = unit_system(stats, weight, group)
    energy, ones = stats.target_energy, torch.ones_like(cross)
    before = _relative(gram, cross, energy, ones)
    damp = damping**2
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    factor, info = torch.linalg.cholesky_ex(gram + damp * eye)
    if int(info) != 0:
        return _failed(before, "solve failed: Gram matrix not positive definite")
    scales = torch.cholesky_solve((cross + damp * ones)[:, None], factor).flatten()
    if not bool(torch.isfinite(scales).all()):
        return _failed(before, "solve failed: non-finite scales")
    if float(scales.abs().max()) > SCALE_LIMIT:
        return _failed(before, f"solve rejected: a scale is outside ±{SCALE_LIMIT:g}")
    after = _relative(gram, cross, energy, scales)
    if after > before:
        return _failed(before, "tuned residual worse: scales left at 1")
    return ScaleOutcome(scales, before, after, "tuned")


def _failed(before: float, note: str) -> ScaleOutcome:
    # The reference stops tuning every remaining layer here without a word (quirk 3); we keep
    # scales 1 for this sublayer only, say so, and go on with the next one.
    log.warning("Kwon mask tuning: %s", note)
    return ScaleOutcome(None, before, before, note)


class LayerwiseTuner:
    """Streams teacher and student sublayer inputs over the calibration set, bottom to top.

    Teacher = the unpruned model (no gates); student = the same weights with the unit gates of the
    sublayers already tuned. Both advance one sublayer per `tune` call.
    """

    def __init__(
        self,
        access: EncoderAccess,
        batches: list[PreparedBatch],
        damping: float,
        cls_only_last_ffn: bool,
    ) -> None:
        self.access, self.batches, self.damping = access, batches, damping
        self.cls_only_last_ffn = cls_only_last_ffn
        with torch.no_grad():
            embedded = [access.embed(b.inputs) for b in batches]
        # padded: the CLS-only rows of the last FFN are picked by position
        self.layouts = [
            TokenLayout(b.inputs["attention_mask"], e.dtype, packed=False)
            for b, e in zip(batches, embedded)
        ]
        self.student_x = embedded
        self.teacher_x = list(embedded)

    def _rows(self, index: int, batch: PreparedBatch) -> torch.Tensor:
        """Tokens the LS fits: non-pad ones; CLS only for the last FFN of a CLS-reading head."""
        if self.cls_only_last_ffn and index == sublayer_count(len(self.access.layers)) - 1:
            cls = torch.zeros_like(batch.token_mask)
            cls[:, 0] = True
            return batch.token_mask & cls
        return batch.token_mask

    @torch.no_grad()
    def _accumulate(self, index: int, gate: torch.Tensor, dims: torch.Tensor) -> GramAccumulator:
        stats = GramAccumulator()
        for position, batch in enumerate(self.batches):
            layout = self.layouts[position]
            teacher = sublayer_forward(self.access, index, self.teacher_x[position], layout)
            if dims.numel():
                x_s = self.student_x[position]
                student = sublayer_forward(self.access, index, x_s, layout, gate)
                target = teacher.pre_norm - output_bias(self.access, index) - x_s
                rows = self._rows(index, batch)
                stats.add(student.features[rows][:, dims], target[rows])
            self.teacher_x[position] = teacher.output
        return stats

    @torch.no_grad()
    def _advance_student(self, index: int, gate: torch.Tensor) -> None:
        for position, x in enumerate(self.student_x):
            out = sublayer_forward(self.access, index, x, self.layouts[position], gate)
            self.student_x[position] = out.output

    def tune(self, index: int, unit_gate: torch.Tensor) -> tuple[torch.Tensor, ScaleOutcome]:
        """Fit sublayer ``index`` given its 0/1 unit gate; returns (scaled unit gate, outcome)."""
        unit_width, device = self.access.unit_width, self.student_x[0].device
        kept = torch.nonzero(unit_gate).flatten()
        dims = kept_features(unit_gate, index, unit_width).to(device)
        mask_gate = feature_gate(unit_gate, index, unit_width).to(device)
        stats = self._accumulate(index, mask_gate, dims)
        if kept.numel() == 0:
            outcome = ScaleOutcome(None, 0.0, 0.0, "no units kept: output is the bias")
        else:
            weight = output_projection(self.access, index).weight
            group = Sublayer(index).features_per_unit(unit_width)
            outcome = solve_unit_scales(stats, weight[:, dims], group, self.damping)
        scaled = unit_gate.clone()
        if outcome.scales is not None:
            scaled[kept] = outcome.scales.float().cpu()
        self._advance_student(index, feature_gate(scaled, index, unit_width).to(device))
        return scaled, outcome
