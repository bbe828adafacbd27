_base_ = './_base_/rmt_in1k.py'

# RMT-T, ImageNet-1k 224x224, 300 epochs (see README.md for the paper's numbers).
model = dict(
    backbone=dict(arch='t', drop_path_rate=0.1),
    neck=dict(in_channels=512))
