_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    '../../../_base_/rmt_backbone.py'
]

# Semantic FPN: FPN (256) + FPNHead (128 channels), 150 ADE20K classes.
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(512, 512)),  # pad every batch to the crop size
    backbone={{_base_.rmt_backbone}},
    neck=dict(in_channels=[64, 128, 256, 512]),
    decode_head=dict(num_classes=150))
