"""mmdet's COCO dataset, saying how many annotations it drops."""
from mmdet.datasets import CocoDataset as MMDetCocoDataset
from mmengine.logging import print_log

from ..registry import DATASETS


@DATASETS.register_module()
class CocoDataset(MMDetCocoDataset):
    """``mmdet.CocoDataset`` (same samples, same instances) that counts what it drops and logs
    it once loaded: boxes with no area inside the image or under one pixel wide or high, and
    polygons with fewer than three points. An instance left with no valid polygon keeps its
    box and is ignored by the mask loss, as in mmdet.

    mmdet keeps the annotations of the categories whose names are in ``metainfo['classes']``,
    quietly trains on nothing for a name the file does not have, and names the labels of
    classes listed in another order than the file's wrongly; this dataset stops at either,
    naming the file and both lists (:func:`check_category_names`).
    """

    def load_data_list(self):
        self._dropped = dict(boxes=0, polygons=0, annotations=0)
        self._names_checked = False
        data_list = super().load_data_list()
        if not self._names_checked:  # a file without images: read its categories again
            self._check_class_names()
        dropped = self._dropped
        if dropped['boxes'] or dropped['polygons']:
            print_log(f'{self.ann_file}: dropped {dropped["boxes"]} degenerate boxes (empty, '
                      f'outside the image or under 1 pixel) and {dropped["polygons"]} '
                      f'degenerate polygons (under 3 points, or none) of {dropped["annotations"]} '
                      f'annotations', logger='current', level=30)
        return data_list

    def parse_data_info(self, raw_data_info: dict):
        if not self._names_checked:  # the first image: mmdet's COCO API is still loaded
            check_category_names(self.metainfo['classes'],
                                 [c['name'] for c in self.coco.dataset['categories']],
                                 self.ann_file)
            self._names_checked = True
        anns = []
        for ann in raw_data_info['raw_ann_info']:
            polygons = ann.get('segmentation')
            if isinstance(polygons, list):  # RLE masks (dicts) are kept as they are
                valid = [p for p in polygons if len(p) >= 6 and len(p) % 2 == 0]
                self._dropped['polygons'] += len(polygons) - len(valid) + (not polygons)
                # No valid polygon: keep the box; [[]] makes mmdet's LoadAnnotations ignore
                # the instance in the mask loss (an empty list would crash it: no 'mask').
                ann = dict(ann, segmentation=valid or [[]])
            anns.append(ann)
        data_info = super().parse_data_info(dict(raw_data_info, raw_ann_info=anns))
        counted = [a for a in anns
                   if not a.get('ignore', False) and a['category_id'] in self.cat_ids]
        self._dropped['annotations'] += len(counted)
        self._dropped['boxes'] += len(counted) - len(data_info['instances'])
        return data_info

    def _check_class_names(self):
        import json

        from mmengine.fileio import get_text
        categories = json.loads(get_text(self.ann_file, backend_args=self.backend_args))
        check_category_names(self.metainfo['classes'],
                             [c['name'] for c in categories.get('categories', [])],
                             self.ann_file)


def check_category_names(classes, file_names, ann_file: str):
    """Refuse ``metainfo.classes`` that mmdet's CocoDataset would read wrong from a file whose
    categories are named ``file_names`` (in the file's order).

    mmdet keeps the annotations of the categories named in ``classes`` and numbers them in
    the file's order, while predictions, the checkpoint's class names and per-class AP are
    named by ``classes``. A name the file lacks therefore trains on nothing, and the same
    names in another order train and evaluate every class under another class's name.
    """
    classes = tuple(classes)
    missing = [c for c in classes if c not in file_names]
    if missing:
        raise ValueError(
            f'{ann_file}: its categories do not include {missing}, named in the '
            f"dataset's metainfo.classes {classes}; the file's categories are "
            f'{list(file_names)}. Set metainfo=dict(classes=...) to names from the file (a '
            f'subset trains on those classes only).')
    in_file_order = tuple(n for n in dict.fromkeys(file_names) if n in classes)
    if in_file_order != classes:
        raise ValueError(
            f"{ann_file}: metainfo.classes lists {classes}, but the file's categories come "
            f'in the order {in_file_order}. mmdet numbers the labels in the file\'s order '
            f'and names them by metainfo.classes, so each class would train and be evaluated '
            f"under another class's name. List metainfo.classes in the file's order: "
            f'{in_file_order}.')
