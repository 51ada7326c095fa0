"""What a sweep is: the config schema (the only defaults) and how presets, TOML files and --set
overrides become one.
"""
