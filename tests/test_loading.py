"""rmt_mm.datasets: images that are missing, corrupt or in unusual modes, and degenerate
annotations, each named, counted or replaced (RobustLoadImageFromFile, CocoDataset)."""
import os
import os.path as osp

import numpy as np
import pytest

from helpers import SHAPE_CLASSES


def _loader(**kwargs):
    from mmengine.registry import TRANSFORMS
    return TRANSFORMS.build(dict(type='rmt_mm.RobustLoadImageFromFile', **kwargs))


def test_missing_and_corrupt_images_name_the_file(tmp_path, caplog):
    corrupt = tmp_path / 'corrupt.jpg'
    corrupt.write_bytes(b'\xff\xd8 this is not a jpeg')
    missing = str(tmp_path / 'missing.jpg')
    for path, reason in ((missing, 'does not exist'), (str(corrupt), 'not a readable image')):
        with pytest.raises((FileNotFoundError, ValueError)) as error:
            _loader().transform(dict(img_path=path, sample_idx=7))
        assert path in str(error.value) and reason in str(error.value)
        assert 'sample 7' in str(error.value) and "on_error='skip'" in str(error.value)
        assert _loader(on_error='skip').transform(dict(img_path=path, sample_idx=7)) is None
    # mmcv's own loader, which the configs use by default, names the file too.
    from mmcv.transforms import LoadImageFromFile
    with pytest.raises(Exception, match='corrupt.jpg'):
        LoadImageFromFile().transform(dict(img_path=str(corrupt)))


def test_skipped_images_are_replaced_in_training(tmp_path, coco_root):
    """A training set with a broken file still trains; the warning names the file."""
    import shutil

    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope
    root = str(tmp_path / 'coco')
    shutil.copytree(coco_root, root)
    os.remove(osp.join(root, 'train', 'train_00000.jpg'))
    init_default_scope('mmdet')
    dataset = DATASETS.build(dict(
        type='rmt_mm.CocoDataset', data_root=root, ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'), metainfo=dict(classes=SHAPE_CLASSES),
        pipeline=[dict(type='rmt_mm.RobustLoadImageFromFile', on_error='skip'),
                  dict(type='PackDetInputs')]))
    sample = dataset[0]
    assert sample['data_samples'].img_path != osp.join(root, 'train', 'train_00000.jpg')


@pytest.mark.parametrize('mode', ['L', 'RGBA', 'I;16', 'P'])
def test_grayscale_rgba_16bit_and_palette_images_load_as_rgb(tmp_path, mode):
    from PIL import Image
    rng = np.random.default_rng(0)
    if mode == 'I;16':
        image = Image.fromarray(rng.integers(0, 65535, (20, 30), dtype=np.uint16))
    else:
        image = Image.fromarray(rng.integers(0, 255, (20, 30, 4), dtype=np.uint8), 'RGBA')
        image = image.convert(mode)
    path = str(tmp_path / 'image.png')
    image.save(path)
    for loader in (_loader(), _loader(imdecode_backend='pillow')):
        img = loader.transform(dict(img_path=path))['img']
        assert img.shape == (20, 30, 3) and img.dtype == np.uint8


def test_degenerate_boxes_and_polygons_are_dropped_with_a_count(tmp_path, caplog):
    import json
    import logging

    from mmdet.registry import DATASETS
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    ok = dict(bbox=[2, 2, 10, 10], area=100, segmentation=[[2, 2, 12, 2, 12, 12]])
    anns = [ok,
            dict(bbox=[2, 2, 0, 10], area=0, segmentation=[[2, 2, 2, 12, 2, 7]]),  # no width
            dict(bbox=[50, 50, 5, 5], area=25, segmentation=[[50, 50, 55, 55, 50, 55]]),  # out
            dict(bbox=[2, 2, 0.5, 8], area=4, segmentation=[[2, 2, 2, 10, 2, 6]]),  # < 1 px
            dict(bbox=[5, 5, 6, 6], area=36, segmentation=[[5, 5, 11, 11]]),  # 2-point polygon
            dict(bbox=[3, 3, 6, 6], area=36, segmentation=[])]  # no polygon at all
    coco = dict(images=[dict(id=1, file_name='a.jpg', height=20, width=20)],
                categories=[dict(id=1, name='disk')],
                annotations=[dict(a, id=i + 1, image_id=1, category_id=1, iscrowd=0)
                             for i, a in enumerate(anns)])
    (tmp_path / 'ann.json').write_text(json.dumps(coco))
    init_default_scope('mmdet')
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING):
            dataset = DATASETS.build(dict(
                type='rmt_mm.CocoDataset', data_root=str(tmp_path), ann_file='ann.json',
                data_prefix=dict(img=''), metainfo=dict(classes=('disk', )), pipeline=[]))
    finally:
        logger.removeHandler(caplog.handler)
    instances = dataset.get_data_info(0)['instances']
    assert len(instances) == 3
    assert instances[1]['mask'] == [[]] and instances[2]['mask'] == [[]]
    assert 'dropped 3 degenerate boxes' in caplog.text
    assert '2 degenerate polygons' in caplog.text and 'of 6 annotations' in caplog.text
