_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../../../_base_/rmt_backbone.py'
]

# As mmdet's RetinaNet: the FPN starts at stage 1 (P3-P5), P6/P7 come from extra convs.
model = dict(backbone={{_base_.rmt_backbone}}, neck=dict(in_channels=[64, 128, 256, 512]))
# The FPN never reads stage 0, so its output norm gets no gradient: DDP must look for unused
# parameters (official retinanet_*_1x.py: find_unused_parameters=True).
find_unused_parameters = True
