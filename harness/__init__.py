"""kprune-bench harness: prune, export, time and evaluate encoders; store and plot the results.

Importing this package has no side effects; heavy optional dependencies load lazily.
"""
