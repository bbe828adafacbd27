"""Deprecated: backbone loading moved to :mod:`rmt_mm.models.checkpoint`, the weights_only
allow-list to :mod:`rmt_mm.compat`."""
from ._deprecated import forward

load_backbone_checkpoint = forward(__name__, 'rmt_mm.models.checkpoint').load_backbone_checkpoint
safe_globals = forward(__name__, 'rmt_mm.compat').safe_globals


def register_safe_globals() -> None:
    """Deprecated: ``import rmt_mm`` applies the allow-list (:mod:`rmt_mm.compat`)."""
    from rmt_mm import compat
    compat.patch_weights_only_allow_list()
    compat.patch_history_buffer_state()
