"""Models out of PyTorch (ONNX export) and as FLOP counters see them: the traceable forms of
the task models."""
from .detection import End2EndDetector
from .tensor_mode import TensorMode

__all__ = ['End2EndDetector', 'TensorMode']
