"""Token-label maps in the mmpretrain pipeline: loading them and keeping them on the image.

The maps are TokenLabeling's ``label_top5_train_nfnet``: one ``.pt`` file per training image
at ``<label_root>/<class folder>/<image name>.pt``, a (2, 5, 15, 15) tensor of the top-5 scores
(``[0]``) and class indices (``[1]``) of a teacher on a grid over the image. As in the official
loader, the training pipeline flips the image and the map together, applies RandAugment's
geometric operations to both, and takes the random resized crop last, recording it as
``token_label_crop`` = (top, left, height, width), fractions of the (flipped, augmented) image;
the classifier pools the map over that crop (:mod:`rmt_mm.models.losses.token_label`).
"""
import os.path as osp

import numpy as np
import torch
from mmcv.transforms import BaseTransform, RandomFlip
from mmcv.transforms.utils import cache_random_params
from mmpretrain.datasets.transforms import RandAugment, RandomResizedCrop, Rotate, Shear, Translate
from mmpretrain.datasets.transforms.auto_augment import RANDAUG_POLICIES

from rmt_mm.registry import TRANSFORMS

MAP_KEY, CROP_KEY = 'token_label_map', 'token_label_crop'


def label_map_path(label_root: str, img_path: str) -> str:
    """``<label_root>/<class folder>/<image stem>.pt``, as the official loader names them."""
    folder, name = osp.split(img_path)
    return osp.join(label_root, osp.basename(folder), osp.splitext(name)[0] + '.pt')


@TRANSFORMS.register_module()
class LoadTokenLabelMap(BaseTransform):
    """Read the label map of ``results['img_path']`` into ``results['token_label_map']``
    (float32 numpy array (2, K, h, w)).

    Args:
        label_root (str): the folder of the maps (e.g. ``data/imagenet/label_top5_train_nfnet``).
    """

    def __init__(self, label_root: str):
        self.label_root = label_root

    def transform(self, results: dict) -> dict:
        path = label_map_path(self.label_root, results['img_path'])
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'LoadTokenLabelMap: no label map {path} for image {results["img_path"]} '
                f'(label_root={self.label_root!r}; expected <label_root>/<class>/<image>.pt, '
                f'see configs/cls/README.md)')
        label_map = torch.load(path, map_location='cpu', weights_only=True).float()
        if label_map.dim() != 4 or label_map.shape[0] != 2:
            raise ValueError(f'LoadTokenLabelMap: {path} holds a {tuple(label_map.shape)} '
                             f'tensor; a label map is (2, K, h, w): top-K scores and indices')
        results[MAP_KEY] = label_map.numpy()
        return results


@TRANSFORMS.register_module()
class TokenLabelRandomFlip(RandomFlip):
    """mmcv's RandomFlip that flips ``token_label_map`` with the image."""

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        if results.get('flip') and MAP_KEY in results:
            axis = {'horizontal': 3, 'vertical': 2}.get(results['flip_direction'])
            if axis is None:
                raise ValueError('TokenLabelRandomFlip: a diagonal flip has no label-map '
                                 'equivalent in token labeling; use horizontal or vertical')
            results[MAP_KEY] = np.ascontiguousarray(np.flip(results[MAP_KEY], axis))
        return results


class _MovesLabelMap:
    """Mixin for mmpretrain's geometric RandAugment operations: the label map gets the same
    operation with the same random parameters (nearest neighbour, zero outside), one plane at
    a time; relative magnitudes (translation) and angles scale to the map's size."""

    def transform(self, results: dict) -> dict:
        if MAP_KEY not in results:
            return super().transform(results)
        with cache_random_params(self):
            results = super().transform(results)
            label_map = results[MAP_KEY]
            interpolation, pad_val = self.interpolation, self.pad_val
            self.interpolation, self.pad_val = 'nearest', 0
            try:
                planes = [super(_MovesLabelMap, self).transform(dict(img=plane))['img']
                          for plane in label_map.reshape(-1, *label_map.shape[2:])]
            finally:
                self.interpolation, self.pad_val = interpolation, pad_val
        results[MAP_KEY] = np.stack(planes).reshape(label_map.shape).astype(np.float32)
        return results


@TRANSFORMS.register_module()
class TokenLabelRotate(_MovesLabelMap, Rotate):
    """mmpretrain's Rotate, applied to ``token_label_map`` too."""


@TRANSFORMS.register_module()
class TokenLabelShear(_MovesLabelMap, Shear):
    """mmpretrain's Shear, applied to ``token_label_map`` too."""


@TRANSFORMS.register_module()
class TokenLabelTranslate(_MovesLabelMap, Translate):
    """mmpretrain's Translate, applied to ``token_label_map`` too."""


GEOMETRIC = {'Rotate': 'rmt_mm.TokenLabelRotate', 'Shear': 'rmt_mm.TokenLabelShear',
             'Translate': 'rmt_mm.TokenLabelTranslate'}


@TRANSFORMS.register_module()
class TokenLabelRandAugment(RandAugment):
    """mmpretrain's RandAugment whose geometric operations (rotate, shear, translate) move
    ``token_label_map`` with the image, as the official token-labeling RandAugment; the
    photometric ones leave it alone. Same arguments as RandAugment."""

    def __init__(self, policies, **kwargs):
        if isinstance(policies, str):
            if policies not in RANDAUG_POLICIES:
                raise ValueError(f'TokenLabelRandAugment: unknown policies {policies!r}; one of '
                                 f'{sorted(RANDAUG_POLICIES)} or a list of dicts')
            policies = RANDAUG_POLICIES[policies]
        policies = [dict(p, type=GEOMETRIC.get(p['type'], p['type'])) for p in policies]
        super().__init__(policies=policies, **kwargs)


@TRANSFORMS.register_module()
class TokenLabelRandomResizedCrop(RandomResizedCrop):
    """mmpretrain's RandomResizedCrop that records its crop as ``token_label_crop`` (top, left,
    height, width as fractions of the image before the crop; float32 tensor (4,)) and turns
    ``token_label_map`` into a tensor. It must come after every transform that moves the map."""

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        with cache_random_params(self):
            top, left, crop_h, crop_w = self.rand_crop_params(results['img'])
            results = super().transform(results)  # draws the same, cached, crop
        results[CROP_KEY] = torch.tensor(
            [top / height, left / width, crop_h / height, crop_w / width], dtype=torch.float32)
        if MAP_KEY in results:
            results[MAP_KEY] = torch.from_numpy(np.ascontiguousarray(results[MAP_KEY]))
        return results
