_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    '../../../_base_/rmt_backbone.py'
]

# UperNet (512 channels) with the auxiliary FCN head on stage 3 (weight 0.4), 150 classes.
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(512, 512)),  # pad every batch to the crop size
    backbone={{_base_.rmt_backbone}},
    decode_head=dict(in_channels=[64, 128, 256, 512], num_classes=150),
    auxiliary_head=dict(in_channels=256, num_classes=150))
