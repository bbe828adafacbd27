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
    """

    def load_data_list(self):
        self._dropped = dict(boxes=0, polygons=0, annotations=0)
        data_list = super().load_data_list()
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
