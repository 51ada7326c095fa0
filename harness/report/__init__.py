"""What a person reads: summary table, run comparison and figures, built from stored results only
(never models or runtimes).
"""
