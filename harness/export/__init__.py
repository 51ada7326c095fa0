"""PyTorch model -> ONNX graph: export, fp16 conversion, ORT fusion, parity gate, structure
manifest, I/O names.
"""
