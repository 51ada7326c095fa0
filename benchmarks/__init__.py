"""Developer benchmarks (not part of the installed packages)."""
