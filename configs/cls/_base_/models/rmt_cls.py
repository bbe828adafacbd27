# The RMT ImageNet classifier as the official VisRetNet: backbone, neck and head, Mixup/CutMix.
# `_scope_`: dicts of this file build the library's objects (and what they contain) in the
# library's scope, also when a downstream config inherits this one as 'rmt_mm::...'.
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(
        type='rmt_mm.RMT',
        arch='t',
        drop_path_rate=0.1,
        out_indices=(3, ),
        out_norm=False,  # the classifier takes the raw last stage (no extra_norms)
        norm_cfg=dict(type='BN')),
    # proj Linear(C4 -> 1024), BN, Swish, global average pool, as the official VisRetNet.
    neck=dict(type='rmt_mm.RMTClsNeck', in_channels=512, out_channels=1024),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        cal_acc=False),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
        dict(type='Constant', layer=['LayerNorm', 'BatchNorm2d'], val=1., bias=0.)
    ],
    # Mixup 0.8 / CutMix 1.0, one of the two per batch (switch probability 0.5).
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))
