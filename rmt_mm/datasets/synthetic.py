"""Small deterministic datasets in the standard on-disk formats, for tests and the quick start.

Images are synthetic scenes: textures cut from the sample photos that scikit-image ships,
with class-specific shapes drawn on them, so that a model can actually learn something in a
few iterations while the pixels stay natural-looking.
"""
import os
import os.path as osp

import numpy as np
from PIL import Image

SHAPES = ('disk', 'square', 'triangle', 'cross', 'ring', 'bar')
COLORS = ((230, 60, 40), (40, 180, 70), (50, 90, 230), (240, 200, 30), (200, 60, 200),
          (30, 200, 210))


def _textures() -> list[np.ndarray]:
    from skimage import data
    images = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
              np.stack([data.camera()] * 3, -1), np.stack([data.grass()] * 3, -1)]
    return [img[..., :3].astype(np.uint8) for img in images]


def _background(rng, textures, height, width):
    tex = textures[rng.integers(len(textures))]
    y = rng.integers(0, tex.shape[0] - height + 1)
    x = rng.integers(0, tex.shape[1] - width + 1)
    return (tex[y:y + height, x:x + width] * 0.6).astype(np.uint8)


def shape_mask(shape: str, height: int, width: int, cy: float, cx: float,
               radius: float) -> np.ndarray:
    """Boolean (H, W) mask of one shape centred at (cy, cx)."""
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    if shape == 'disk':
        return dy**2 + dx**2 <= radius**2
    if shape == 'square':
        return (np.abs(dy) <= radius * 0.85) & (np.abs(dx) <= radius * 0.85)
    if shape == 'triangle':
        return (dy <= radius * 0.8) & (dy >= -radius) & (np.abs(dx) <= (dy + radius) * 0.6)
    if shape == 'cross':
        arm = radius * 0.3
        return ((np.abs(dy) <= arm) & (np.abs(dx) <= radius)) | \
               ((np.abs(dx) <= arm) & (np.abs(dy) <= radius))
    if shape == 'ring':
        r2 = dy**2 + dx**2
        return (r2 <= radius**2) & (r2 >= (radius * 0.55)**2)
    if shape == 'bar':
        return (np.abs(dy) <= radius * 0.3) & (np.abs(dx) <= radius)
    raise ValueError(f'unknown shape {shape!r}; valid: {SHAPES}')


def make_classification_set(root: str, num_classes: int = 4, per_class: int = 8,
                            size: int = 64, splits=('train', 'val'), seed: int = 0,
                            label_maps: bool = False, grid: int = 15) -> str:
    """ImageNet-format folders ``root/<split>/<class>/*.JPEG``: class k is shape k.

    ``label_maps`` also writes a token-label map for every training image, as TokenLabeling's
    ``label_top5_train_nfnet``: ``root/label_top5_train_nfnet/<class>/<image>.pt``, a
    (2, K, grid, grid) half tensor of top-K scores and class indices (K = num_classes, at most
    5). On each cell the image's class scores ``8 x`` the share of the cell its shape covers,
    the other classes 0.

    Returns ``root``.
    """
    if num_classes > len(SHAPES):
        raise ValueError(f'num_classes must be <= {len(SHAPES)}, got {num_classes}')
    rng = np.random.default_rng(seed)
    textures = _textures()
    for split in splits:
        for label in range(num_classes):
            folder = osp.join(root, split, SHAPES[label])
            os.makedirs(folder, exist_ok=True)
            for i in range(per_class):
                img = _background(rng, textures, size, size)
                radius = rng.uniform(0.25, 0.4) * size
                cy, cx = rng.uniform(radius, size - radius, 2)
                mask = shape_mask(SHAPES[label], size, size, cy, cx, radius)
                img[mask] = COLORS[rng.integers(len(COLORS))]
                name = f'{split}_{label}_{i:04d}'
                Image.fromarray(img).save(osp.join(folder, name + '.JPEG'), quality=95)
                if label_maps and split == 'train':
                    _save_label_map(osp.join(root, 'label_top5_train_nfnet', SHAPES[label],
                                             name + '.pt'), mask, label, num_classes, grid)
    return root


def _save_label_map(path: str, mask: np.ndarray, label: int, num_classes: int, grid: int):
    import torch
    edges = np.linspace(0, mask.shape[0], grid + 1).round().astype(int)
    coverage = np.array([[mask[r0:r1, c0:c1].mean() for c0, c1 in zip(edges, edges[1:])]
                         for r0, r1 in zip(edges, edges[1:])])
    k = min(num_classes, 5)
    others = [c for c in range(num_classes) if c != label][:k - 1]
    scores = np.zeros((k, grid, grid), np.float32)
    scores[0] = 8 * coverage
    indices = np.stack([np.full((grid, grid), c) for c in [label] + others]).astype(np.float32)
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(torch.from_numpy(np.stack([scores, indices])).half(), path)


def _scene(rng, textures, height, width, classes, max_objects):
    """A textured image with 1..max_objects shapes: (image, [(label, mask), ...])."""
    img = _background(rng, textures, height, width)
    objects = []
    for _ in range(rng.integers(1, max_objects + 1)):
        label = int(rng.integers(len(classes)))
        radius = rng.uniform(0.12, 0.25) * min(height, width)
        cy = rng.uniform(radius, height - radius)
        cx = rng.uniform(radius, width - radius)
        mask = shape_mask(classes[label], height, width, cy, cx, radius)
        for _, other in objects:  # later shapes occlude earlier ones
            other &= ~mask
        img[mask] = COLORS[label % len(COLORS)]
        objects.append((label, mask))
    return img, [(label, mask) for label, mask in objects if mask.sum() >= 16]


def _polygons(mask: np.ndarray) -> list:
    import cv2
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    return [c.flatten().astype(float).tolist() for c in contours if len(c) >= 3]


def make_coco_instance_set(root: str, classes=('disk', 'square', 'triangle'),
                           num_train: int = 16, num_val: int = 8, size=(128, 160),
                           max_objects: int = 3, seed: int = 0) -> str:
    """COCO-format instance set: ``root/{train,val}/*.jpg`` and
    ``root/annotations/instances_{train,val}.json`` with boxes and polygons. Returns root."""
    import json
    rng = np.random.default_rng(seed)
    textures = _textures()
    height, width = size
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(classes)]
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, annotations = [], []
        for index in range(count):
            img, objects = _scene(rng, textures, height, width, classes, max_objects)
            name = f'{split}_{index:05d}.jpg'
            Image.fromarray(img).save(osp.join(root, split, name), quality=95)
            images.append(dict(id=index + 1, file_name=name, height=height, width=width))
            for label, mask in objects:
                polygons = _polygons(mask)
                if not polygons:  # a sliver left by occlusion
                    continue
                ys, xs = np.nonzero(mask)
                x0, y0 = float(xs.min()), float(ys.min())
                bbox = [x0, y0, float(xs.max()) + 1 - x0, float(ys.max()) + 1 - y0]
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=index + 1, category_id=label + 1,
                    bbox=bbox, area=float(mask.sum()), iscrowd=0,
                    segmentation=polygons))
        with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return root


def make_ade_semantic_set(root: str, classes=('disk', 'square', 'triangle'),
                          num_train: int = 12, num_val: int = 6, size=(96, 128),
                          max_objects: int = 3, seed: int = 0) -> str:
    """ADE20K-format semantic set: ``root/images/{training,validation}/*.jpg`` and
    ``root/annotations/{training,validation}/*.png``. As in ADE20K, label 0 is "other"
    (ignored with ``reduce_zero_label=True``) and class k is stored as k + 1. Returns root."""
    rng = np.random.default_rng(seed)
    textures = _textures()
    height, width = size
    for split, count in (('training', num_train), ('validation', num_val)):
        os.makedirs(osp.join(root, 'images', split), exist_ok=True)
        os.makedirs(osp.join(root, 'annotations', split), exist_ok=True)
        for index in range(count):
            img, objects = _scene(rng, textures, height, width, classes, max_objects)
            label_map = np.zeros((height, width), np.uint8)
            for label, mask in objects:
                label_map[mask] = label + 1
            name = f'ADE_{split}_{index:08d}'
            Image.fromarray(img).save(osp.join(root, 'images', split, name + '.jpg'), quality=95)
            Image.fromarray(label_map).save(osp.join(root, 'annotations', split, name + '.png'))
    return root
