"""Where task bytes come from and how they become tensors: bundled assets, task loaders, encoding,
calibration sampling.
"""
