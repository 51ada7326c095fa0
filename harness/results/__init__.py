"""Stored results: records and their keys, schema upgrades, the run-file session, environment
fingerprint, atomic files, DataFrames.
"""
