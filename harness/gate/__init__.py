"""The regression gate: the speedup of each pruned model over the dense model, measured in the
same job in paired ABBA rounds, judged against a stored baseline with a confidence interval and
a confirmation re-measure; accuracy at the same (method, ratio, seed); CI-readable outputs."""
