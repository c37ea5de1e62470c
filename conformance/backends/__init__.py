"""Backends: the NumPy kernel, PyTorch, Paddle and third-party plugins, behind one protocol."""
