_base_ = './mask_rcnn_rmt_s_fpn_ms_3x_coco.py'

model = dict(
    backbone=dict(arch='l', init_cfg=dict(checkpoint='checkpoints/rmt_l_in1k.pth')),
    neck=dict(in_channels=[112, 224, 448, 640]))
# Official maskrcnn_l_3x.py: 1 image per GPU (8 GPUs: batch 8) at lr 2e-4.
train_dataloader = dict(batch_size=1, num_workers=1)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
auto_scale_lr = dict(base_batch_size=8)
