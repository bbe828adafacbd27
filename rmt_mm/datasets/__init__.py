"""Datasets and transforms, and small generated sets in the standard on-disk formats for the
quick start and the tests.

``coco.CocoDataset``, ``segmentation.SegFolderDataset`` and
``loading.RobustLoadImageFromFile`` import mmdet/mmseg/mmcv, so they live in their own modules
(the registries import them when a config names them) and generating data stays light.
"""
from .synthetic import make_ade_semantic_set, make_classification_set, make_coco_instance_set

__all__ = ['make_ade_semantic_set', 'make_classification_set', 'make_coco_instance_set']
