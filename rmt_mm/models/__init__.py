"""rmt_mm models; importing this module registers them in ``rmt_mm.registry.MODELS``."""
from .backbones import RMT
from .necks import RMTClsNeck

__all__ = ['RMT', 'RMTClsNeck']
