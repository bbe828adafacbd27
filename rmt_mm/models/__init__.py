"""rmt_mm models; importing this module registers them in ``rmt_mm.registry.MODELS``.

The backbone and neck need only mmengine and mmcv; the token-labeling classifier and its loss
build on mmpretrain and are registered where it is installed (a backbone-only environment,
such as a bare GPU machine with mmengine and mmcv-lite, still imports the backbone). There,
the ImageNet models are also registered with mmpretrain's model hub
(:mod:`.classifiers.hub`): ``mmpretrain.get_model('rmt_t_in1k')`` after ``import rmt_mm.models``.
"""
import importlib.util

from .backbones import RMT
from .necks import RMTClsNeck

__all__ = ['RMT', 'RMTClsNeck']

if importlib.util.find_spec('mmpretrain') is not None:
    from .classifiers import TokenLabelClassifier
    from .losses import TokenLabelCrossEntropy
    __all__ += ['TokenLabelClassifier', 'TokenLabelCrossEntropy']
