"""The sweep: plan points and trials, run each stage of a point, turn outcomes into rows; run.py
wires them.
"""
