"""Deprecated: official key conversion moved to :mod:`rmt_mm.models.checkpoint`."""
from ._deprecated import forward

convert_official_classifier = forward(
    __name__, 'rmt_mm.models.checkpoint').convert_official_classifier
