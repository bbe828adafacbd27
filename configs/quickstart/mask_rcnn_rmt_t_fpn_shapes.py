# RMT-T Mask R-CNN on the embedded shapes set (tools/quickstart.py generates it): the detection
# config of the paper with the data, the image size and the schedule cut to a few CPU minutes.
# No pretrained weights (nothing is downloaded): the backbone starts from its random init.
_base_ = '../det/mask_rcnn_rmt_t_fpn_1x_coco.py'

data_root = 'data/quickstart/coco/'
classes = ('disk', 'square', 'triangle')
__image_scale = (160, 128)  # (w, h): the generated images' size

model = dict(
    backbone=dict(arch='t', norm_cfg=dict(type='BN'), drop_path_rate=0.0, init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=len(classes)),
                  mask_head=dict(num_classes=len(classes))),
    # Fewer proposals and RoI samples than COCO needs: at most 4 objects per image.
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=50),
                   rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=__image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=__image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
__dataset = dict(data_root=data_root, metainfo=dict(classes=classes))
train_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(**__dataset, ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='train/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(**__dataset, ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

__max_epochs = 4
train_cfg = dict(max_epochs=__max_epochs, val_interval=__max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', begin=0, end=__max_epochs, by_epoch=True, eta_min=1e-5),
]
optim_wrapper = dict(  # fp32: AMP needs a GPU
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=__max_epochs))
randomness = dict(seed=0)
env_cfg = dict(dist_cfg=dict(backend='gloo'))  # a CPU job
