"""rmt_mm: the RMT vision backbone for OpenMMLab 2.0 (mmpretrain, mmdet, mmseg)."""
from .engine import fileio  # noqa: F401  (the atomic checkpoint file backend)
from .utils.checkpoint import register_safe_globals
from .version import __version__

# mmengine's Runner checkpoints must resume under torch's weights_only=True default.
register_safe_globals()


def _register_config_scope():
    """Let configs inherit ours as ``_base_ = 'rmt_mm::det/...py'`` (rmt_mm/.mim/configs).

    mmengine knows a fixed list of packages, and it finds a package's folder through its
    distribution's location, which is wrong for editable installs; for rmt_mm the folder is
    this file's, wherever the package lives.
    """
    import os.path as osp

    import mmengine.config.config as config_module
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.setdefault('rmt_mm', 'rmt_mm')
    find_package = config_module.get_installed_path
    if getattr(find_package, 'rmt_mm_aware', False):
        return

    def get_installed_path(package: str) -> str:
        if package == 'rmt_mm':
            return osp.dirname(osp.abspath(__file__))
        return find_package(package)

    get_installed_path.rmt_mm_aware = True
    config_module.get_installed_path = get_installed_path


_register_config_scope()

__all__ = ['__version__']
