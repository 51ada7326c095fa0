"""Inference runtimes (PyTorch, ONNX Runtime) behind one protocol."""
