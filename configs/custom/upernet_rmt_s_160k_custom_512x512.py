# UperNet with RMT-S on your own semantic segmentation set, a folder of images and a folder of
# label PNGs (docs/own_data.md): a recipe of ours. Taken from:
# configs/seg/upernet_rmt_s_160k_ade20k_512x512.py (the paper's recipe, from the official
# ImageNet checkpoint). Changed:
#   - the data: data_root, the image and label folders, metainfo.classes; labels are class
#     indices 0..N-1 (255: ignored), so no reduce_zero_label (ADE20K's 0 = "other")
#   - the class count of the decode and auxiliary heads
# Everything else is the paper's recipe (160k iterations, 512x512 crops, 8 GPUs x 2 images).
_base_ = '../seg/upernet_rmt_s_160k_ade20k_512x512.py'

data_root = 'data/my_seg/'
metainfo = dict(classes=('background', 'disk', 'square', 'triangle', 'cross'))
__num_classes = len(metainfo['classes'])

model = dict(decode_head=dict(num_classes=__num_classes),
             auxiliary_head=dict(num_classes=__num_classes))
# mmseg's ADE20K pipelines with reduce_zero_label off.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 512), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs'),
]
# rmt_mm.SegFolderDataset: mmseg's BaseSegDataset that names a label PNG holding a value that
# is not a class.
__dataset = dict(_delete_=True, _scope_='mmseg', type='rmt_mm.SegFolderDataset',
                 data_root=data_root, metainfo=metainfo, img_suffix='.jpg',
                 seg_map_suffix='.png', reduce_zero_label=False)
train_dataloader = dict(dataset=dict(
    **__dataset, pipeline=train_pipeline,
    data_prefix=dict(img_path='images/training', seg_map_path='annotations/training')))
val_dataloader = dict(dataset=dict(
    **__dataset, pipeline=test_pipeline,
    data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation')))
test_dataloader = val_dataloader
