# Mask R-CNN with RMT-S on your own COCO-format instance set (docs/own_data.md): a recipe of
# ours. Taken from: configs/det/mask_rcnn_rmt_s_fpn_1x_coco.py (the paper's 1x recipe, from
# the official ImageNet checkpoint). Changed:
#   - the data: data_root, the annotation files and image folders, metainfo.classes (your
#     category names, as in the files' "categories"), the evaluator's annotation file
#   - the class count of the box and mask heads
# Everything else is the paper's recipe (lr 4e-4 for 8 GPUs x 2 images: add --auto-scale-lr
# on other batches; AMP; SyncBN, which --device cpu and 1-GPU runs turn into BN).
_base_ = '../det/mask_rcnn_rmt_s_fpn_1x_coco.py'

data_root = 'data/my_coco/'
metainfo = dict(classes=('disk', 'square', 'triangle', 'cross', 'ring'))
__num_classes = len(metainfo['classes'])

model = dict(roi_head=dict(bbox_head=dict(num_classes=__num_classes),
                           mask_head=dict(num_classes=__num_classes)))
train_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_train.json',
    data_prefix=dict(img='train/')))
val_dataloader = dict(dataset=dict(
    data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_val.json',
    data_prefix=dict(img='val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
