"""How a number is taken: the clock loop, the isolated timing child, statistics, evaluation and
task metrics.
"""
