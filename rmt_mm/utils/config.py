"""Deprecated: the runner layer moved to :mod:`rmt_mm.apis`."""
from ._deprecated import forward

globals().update({k: v for k, v in vars(forward(__name__, 'rmt_mm.apis.runner')).items()
                  if not k.startswith('__')})
