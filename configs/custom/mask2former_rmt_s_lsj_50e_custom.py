# Mask2Former with RMT-S on your own COCO-format instance set (docs/own_data.md): a recipe of
# ours. Taken from: configs/det/mask2former_rmt_s_lsj_50e_coco.py (mmdet's Swin-T Mask2Former
# LSJ recipe with RMT-S, from the official ImageNet checkpoint). Changed:
#   - the data: data_root, the annotation files and image folders, metainfo.classes (your
#     category names, in the order of the files' "categories"), the evaluator's annotation
#     file; rmt_mm.CocoDataset (mmdet's, checking the class names against the file)
#   - the class counts: Mask2Former has no num_classes, but num_things_classes (no stuff
#     classes for instance segmentation) in its head and its fusion head, and one
#     classification loss weight per class plus the last, 0.1, for "no object"
# Everything else is the recipe: 368750 iterations of 16 images (50 epochs of COCO's 118k
# images; docs/own_data.md gives the line for your set's size), AdamW 1e-4, the backbone at
# 0.1 x lr, large-scale jitter to 1024x1024, AMP off.
_base_ = '../det/mask2former_rmt_s_lsj_50e_coco.py'

data_root = 'data/my_coco/'
metainfo = dict(classes=('disk', 'square', 'triangle', 'cross', 'ring'))
__num_classes = len(metainfo['classes'])

model = dict(
    panoptic_head=dict(num_things_classes=__num_classes, num_stuff_classes=0,
                       loss_cls=dict(class_weight=[1.0] * __num_classes + [0.1])),
    panoptic_fusion_head=dict(num_things_classes=__num_classes, num_stuff_classes=0))
__dataset = dict(_scope_='mmdet', type='rmt_mm.CocoDataset', data_root=data_root,
                 metainfo=metainfo)
train_dataloader = dict(dataset=dict(
    **__dataset, ann_file='annotations/instances_train.json',
    data_prefix=dict(_delete_=True, img='train/')))  # no panoptic PNGs (the recipe's 'seg')
val_dataloader = dict(dataset=dict(
    **__dataset, ann_file='annotations/instances_val.json',
    data_prefix=dict(_delete_=True, img='val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
