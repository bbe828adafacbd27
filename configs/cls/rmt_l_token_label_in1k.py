_base_ = './_base_/rmt_token_label_in1k.py'

# RMT-L* (token labeling), ImageNet-1k 224x224, 310 epochs (see README.md).
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.5),
    neck=dict(in_channels=640),
    aux_head=dict(in_channels=640))
