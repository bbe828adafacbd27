"""rmt_mm models; importing this module registers them in ``rmt_mm.registry.MODELS``."""
from .backbones import RMT
from .classifiers import TokenLabelClassifier
from .losses import TokenLabelCrossEntropy
from .necks import RMTClsNeck

__all__ = ['RMT', 'RMTClsNeck', 'TokenLabelClassifier', 'TokenLabelCrossEntropy']
