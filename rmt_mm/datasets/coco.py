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

    mmdet keeps the annotations of the categories whose names are in ``metainfo['classes']``
    and quietly trains on nothing for a name the file does not have; this dataset stops
    there, naming the file, the missing names and the file's own.
    """

    def load_data_list(self):
        self._dropped = dict(boxes=0, polygons=0, annotations=0)
        data_list = super().load_data_list()
        self._check_class_names()
        dropped = self._dropped
        if dropped['boxes'] or dropped['polygons']:
            print_log(f'{self.ann_file}: dropped {dropped["boxes"]} degenerate boxes (empty, '
                      f'outside the image or under 1 pixel) and {dropped["polygons"]} '
                      f'degenerate polygons (under 3 points, or none) of {dropped["annotations"]} '
                      f'annotations', logger='current', level=30)
        return data_list

    def parse_data_info(self, raw_data_info: dict):
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
        classes = self.metainfo['classes']
        if len(self.cat_ids) >= len(classes):
            return
        import json

        from mmengine.fileio import get_text
        categories = json.loads(get_text(self.ann_file, backend_args=self.backend_args))
        names = [c['name'] for c in categories.get('categories', [])]
        missing = [c for c in classes if c not in names]
        raise ValueError(
            f'{self.ann_file}: its categories do not include {missing}, named in the '
            f"dataset's metainfo.classes {tuple(classes)}; the file's categories are "
            f'{names}. Set metainfo=dict(classes=...) to names from the file (a subset trains '
            f'on those classes only).')
