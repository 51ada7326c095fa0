"""KCM, Kernelized Convex Masking (Nova, Dai & Schuurmans, "Gradient-Free Structured Pruning with
Unlabeled Data", ICML 2023, arXiv 2303.04185; spec §13) as a pruning method: config, R2, D2, R2D2
ranking, top-k selection, rescaling and the method. No side effects.

Sources. Readable: the abstract, the paper's first page and its Figure 1 (per FFN layer, R2 from
the weights and D2 from layer-wise outputs on sampled unlabeled data give S_R2 and S_D2, combined
into S_R2D2; the layers' scores are merged and sorted; the top k under the FLOPs constraint get
mask 1, the rest 0; the mask values are then scaled). NOT readable: the method sections, so the
paper's equations, hyperparameters and sample sizes are unknown. The authors' code is not public.
A third-party re-implementation exists (github.com/wazenmai/retraining-free-pruning,
prune/kcm.py, commits c5414b9..eafc2cb, built on Kwon et al.'s code); it was read, not copied.

Where a detail could not be found, what we do instead and why:
1. R2's vectors: each neuron's [W_in row, input bias, W_out column] (the re-implementation uses
   the W_out column alone); together they are the whole neuron, so equal vectors mean
   interchangeable neurons.
2. R2's kernel: Gaussian; width by the median heuristic per layer unless `kernel_width` is given
   (the re-implementation fixes σ = 1, which depends on the model's weight scale).
3. R2's convex-hull fit: the square-root multiplicative update of kernel convex NMF from
   C = 1/N, stopped when Σ|ΔC|/Σ|C| < `convex_tolerance` (1e-3) or after 200 updates; score =
   C_nn (as in the re-implementation, whose α = 0.01 stopped before duplicated neurons separated
   from merely nearby ones in our checks). Its low-rank option "r" (unused there) is left out.
4. D2: "layer-wise outputs" is read as the mean energy per token of the neuron's term in the FFN
   output, a_n² · ‖v_n‖² (the re-implementation uses activation norms, variously normalised).
5. R2D2: Fig. 1 "combines the ranks": the mean of the two per-layer ranks normalised by the layer
   width (ties share their mean rank), `r2_weight` = 0.5; the normalisation puts every layer on
   one scale for the merge (the re-implementation multiplies normalised scores).
6. Top-k: all heads kept; the highest R2D2 neurons across layers, as many as the FLOPs left fit
   (Kprune's FLOPs model, spec §7, like every method here); ties in (layer, index) order. A
   budget below the heads' share raises BudgetUnreachableError (no silent fallback).
7. Scaling: Kwon et al.'s layer-wise least squares as kprune.methods.kwon.tuning implements it
   (teacher = the unpruned model, damping 1, failed solves keep scale 1 and are logged), FFN
   sublayers only; the scales are folded into W_out and the model is physically pruned.
8. Data: whatever unlabeled batches the caller passes (labels are ignored); the paper's sample
   size is unknown.
"""

from kprune.methods.kcm.config import KcmConfig
from kprune.methods.kcm.method import run_kcm

__all__ = ["KcmConfig", "run_kcm"]
