"""Drawing predictions of any of the three tasks with the task library's own visualizer.

Used by tools/demo.py, tools/quickstart.py and tools/misc/browse_dataset.py.
"""
import itertools
from collections.abc import Sequence

import cv2
import numpy as np

from .tasks import get_task

_names = itertools.count()


def build_drawer(scope: str, dataset_meta: dict | None = None):
    """The task's visualizer, without storage backends (we only want the pixels)."""
    from mmengine.registry import init_default_scope
    task = get_task(scope)
    init_default_scope(task.scope)
    drawer = task.visualizer_class()(name=f'rmt_mm_drawer_{next(_names)}')
    drawer.dataset_meta = dataset_meta or {}
    return drawer


def draw_sample(drawer, scope: str, image: np.ndarray, data_sample, draw_gt: bool = True,
                score_thr: float = 0.3, topk: int = 3) -> np.ndarray:
    """Draw one data sample on an RGB image: detection and segmentation give ground truth
    (when the sample has it and ``draw_gt``) and prediction side by side, classification the
    top-k classes with scores (and the true class). Returns an RGB uint8 array."""
    task = get_task(scope).name
    if task == 'det':
        draw_gt = draw_gt and 'gt_instances' in data_sample
        if draw_gt:
            data_sample = _plain_instances(data_sample)
        drawer.add_datasample('sample', image, data_sample, draw_gt=draw_gt,
                              draw_pred='pred_instances' in data_sample, pred_score_thr=score_thr)
        return drawer.get_image()
    if task == 'seg':
        import tempfile

        import mmcv
        draw_gt = draw_gt and 'gt_sem_seg' in data_sample
        # mmseg keeps only the last panel as the visualizer's image; the side-by-side
        # picture exists only as the file it writes.
        with tempfile.TemporaryDirectory() as folder:
            out_file = f'{folder}/drawn.png'
            drawer.add_datasample('sample', image, data_sample, draw_gt=draw_gt,
                                  draw_pred='pred_sem_seg' in data_sample, with_labels=False,
                                  out_file=out_file)
            drawn = mmcv.imread(out_file, channel_order='rgb')
        return add_legend(drawn, drawer.dataset_meta['classes'], drawer.dataset_meta['palette'],
                          _present_labels(data_sample))
    scale = max(1.0, 224 / max(image.shape[:2]))  # room for the text on small images
    classes = drawer.dataset_meta.get('classes')
    if 'pred_score' in data_sample:
        data_sample = _keep_topk(data_sample, topk)
    return drawer.visualize_cls(image, data_sample, classes=classes, rescale_factor=scale,
                                draw_gt=draw_gt and 'gt_label' in data_sample)


def _plain_instances(data_sample):
    """mmdet's visualizer draws tensors and boolean masks, not the box and mask structures a
    pipeline's ground truth holds (mmdet's own browse_dataset converts them too)."""
    from mmdet.structures.bbox import BaseBoxes
    from mmdet.structures.mask import BitmapMasks, PolygonMasks
    sample = data_sample.clone()
    instances = sample.gt_instances
    if isinstance(instances.get('bboxes'), BaseBoxes):
        instances.bboxes = instances.bboxes.tensor
    if isinstance(instances.get('masks'), (BitmapMasks, PolygonMasks)):
        instances.masks = instances.masks.to_ndarray().astype(bool)
    return sample


def _keep_topk(data_sample, topk):
    """mmpretrain draws the arg-max class; we show the top-k (it reads their scores from the
    full ``pred_score`` by label)."""
    sample = data_sample.clone()
    sample.set_field(sample.pred_score.argsort(descending=True)[:topk], 'pred_label')
    return sample


def _present_labels(data_sample) -> list[int]:
    labels = set()
    for key in ('gt_sem_seg', 'pred_sem_seg'):
        if key in data_sample:
            labels |= set(np.unique(data_sample.get(key).data.cpu().numpy()).tolist())
    return sorted(labels)


def add_legend(image: np.ndarray, classes: Sequence[str], palette: Sequence[Sequence[int]],
               labels: Sequence[int] | None = None) -> np.ndarray:
    """Append a legend strip (colour swatch + class name per label) below an RGB image."""
    labels = [i for i in (labels if labels is not None else range(len(classes)))
              if 0 <= i < len(classes)]
    row_h, width = 18, image.shape[1]
    per_row = max(1, width // 140)
    rows = max(1, -(-len(labels) // per_row))
    strip = np.full((rows * row_h + 6, width, 3), 255, np.uint8)
    for k, label in enumerate(labels):
        x, y = 6 + (k % per_row) * 140, 4 + (k // per_row) * row_h
        cv2.rectangle(strip, (x, y), (x + 14, y + 12), tuple(int(c) for c in palette[label]), -1)
        cv2.putText(strip, str(classes[label])[:16], (x + 19, y + 11),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([image, strip], axis=0)


def tile(images: Sequence[np.ndarray], cols: int = 2, pad: int = 6) -> np.ndarray:
    """Images in a grid on a white background (each cell as large as the largest image)."""
    h = max(i.shape[0] for i in images)
    w = max(i.shape[1] for i in images)
    rows = -(-len(images) // cols)
    canvas = np.full((rows * (h + pad) + pad, min(cols, len(images)) * (w + pad) + pad, 3),
                     255, np.uint8)
    for k, img in enumerate(images):
        y, x = pad + (k // cols) * (h + pad), pad + (k % cols) * (w + pad)
        canvas[y:y + img.shape[0], x:x + img.shape[1]] = img[..., :3]
    return canvas
