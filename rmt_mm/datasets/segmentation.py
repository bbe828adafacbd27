"""mmseg's dataset of a folder of images and a folder of label PNGs, with its labels checked."""
import numpy as np
from mmseg.datasets import BaseSegDataset

from ..registry import DATASETS


@DATASETS.register_module()
class SegFolderDataset(BaseSegDataset):
    """``mmseg.BaseSegDataset`` (``img_path`` and ``seg_map_path`` folders, classes from
    ``metainfo``) that refuses a label map holding a value that is neither a class index
    (0 .. N-1 for N classes, after ``reduce_zero_label``) nor ``ignore_index``. Without the
    check such a value fails deep in the loss (a device-side assert on GPU) or, for values
    below 255 in a smaller head, trains on garbage.

    The check runs right after ``LoadAnnotations`` on the whole map, before any crop.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        transforms = self.pipeline.transforms
        for i, transform in enumerate(transforms):
            if type(transform).__name__ == 'LoadAnnotations':
                transforms.insert(i + 1, self._check_labels)
                break

    def _check_labels(self, results: dict) -> dict:
        values = np.unique(results['gt_seg_map'])
        num_classes = len(self.metainfo['classes'])
        bad = [int(v) for v in values if v >= num_classes and v != self.ignore_index]
        if bad:
            raise ValueError(
                f"{results['seg_map_path']}: label values {bad} are not classes: "
                f"the dataset's metainfo.classes names {num_classes} "
                f'({tuple(self.metainfo["classes"])}), so a label PNG may hold 0-'
                f'{num_classes - 1} and {self.ignore_index} (ignore_index) only'
                + (' (after reduce_zero_label, which subtracts 1)' if self.reduce_zero_label
                   else '') + '. Add the missing classes to metainfo.classes (and the heads\' '
                f'num_classes), or map those values to {self.ignore_index}.')
        return results
