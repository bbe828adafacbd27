"""rmt_mm's ImageNet models in mmpretrain's model hub, by name.

``mmpretrain.list_models('*rmt*')``, ``get_model('rmt_t_in1k')`` and ``inference_model`` read
mmpretrain's ``ModelHub``; :func:`register_model_index` gives it ``configs/cls/metafile.yml``
through the hub's public ``register_model_index``. ``rmt_mm.models`` calls it where it
imports mmpretrain anyway, so ``import rmt_mm.models`` (or building any RMT config) is enough.
"""
import os.path as osp

from mmpretrain.apis import ModelHub

METAFILE = osp.join('configs', 'cls', 'metafile.yml')


def packaged_configs() -> str:
    """rmt_mm's packaged config root (``rmt_mm/.mim``, filled on install)."""
    return osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), '.mim')


def register_model_index() -> bool:
    """Register the metafile's models once; False where the package has no configs (a
    checkout that was never installed)."""
    root = packaged_configs()
    if not osp.isfile(osp.join(root, METAFILE)):
        return False
    if not ModelHub.has('rmt_t_in1k'):
        ModelHub.register_model_index(osp.join(root, METAFILE), config_prefix=root)
    return True
