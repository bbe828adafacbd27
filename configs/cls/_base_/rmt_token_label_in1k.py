# Token labeling on ImageNet-1k: the official classification_token_label_release (main.py,
# train_s.sh, TokenLabeling's loader) on top of the suite's ImageNet recipe (_base_/rmt_in1k.py:
# AdamW 5e-4 x batch / 512, weight decay 0.05, timm's per-epoch cosine, EMA of the whole state,
# raw and EMA evaluation, SyncBN, AMP). Leaf configs set the variant and its widths.
_base_ = './rmt_in1k.py'

__label_root = 'data/imagenet/label_top5_train_nfnet'  # TokenLabeling's NFNet-F6 label maps

model = dict(
    type='rmt_mm.TokenLabelClassifier',
    # The aux head reads every last-stage token (the backbone's last width).
    aux_head=dict(in_channels=512, num_classes=1000),
    aux_weight=0.5,  # inference: cls + 0.5 * max over tokens of the aux logits
    mix_token=True,  # MixToken, Beta(1, 1), on the stem output at 1/8 of its grid
    loss=dict(type='rmt_mm.TokenLabelCrossEntropy', dense_weight=0.5, cls_weight=1.0),
    smoothing=0.1,
    # 'aligned': each token's target is the label map at its position. The official loader
    # hands RoIAlign (top, left, bottom, right) as (x1, y1, x2, y2), which transposes the
    # crop and the targets; box_order='official' reproduces that (see README.md).
    box_order='aligned',
    head=dict(loss=dict(_delete_=True, type='CrossEntropyLoss')),  # unused: the loss above
    train_cfg=None)  # no Mixup / CutMix in token labeling (main.py sets both to 0)

# Official: flip, RandAugment (geometric operations also move the label map), random resized
# crop last (its box picks the label map's region), random erasing 0.25 per pixel.
# timm's 'random' interpolation (bilinear or bicubic per image) has no mmpretrain
# counterpart: bicubic, as the suite's ImageNet recipe.
train_pipeline = [
    dict(_scope_='mmpretrain', type='LoadImageFromFile'),
    dict(type='rmt_mm.LoadTokenLabelMap', label_root=__label_root),
    dict(type='rmt_mm.TokenLabelRandomFlip', prob=0.5, direction='horizontal'),
    # The suite's rand-m9-mstd0.5-inc1 (_base_/rmt_in1k.py), label-map aware.
    dict(_scope_='mmpretrain', type='rmt_mm.TokenLabelRandAugment', policies='timm_increasing',
         num_policies=2, total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='rmt_mm.TokenLabelRandomResizedCrop', scale=224, backend='pillow',
         interpolation='bicubic'),
    {{_base_.random_erasing}},
    dict(_scope_='mmpretrain', type='PackInputs',
         algorithm_keys=('token_label_map', 'token_label_crop')),
]
# Evaluation with crop_pct 0.96: short side floor(224 / 0.96) = 233 (bicubic), centre 224.
test_pipeline = [
    dict(_scope_='mmpretrain', type='LoadImageFromFile'),
    dict(_scope_='mmpretrain', type='ResizeEdge', scale=233, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(_scope_='mmpretrain', type='CenterCrop', crop_size=224),
    dict(_scope_='mmpretrain', type='PackInputs'),
]
# TokenLabeling's loader: a plain distributed sampler (no repeated augmentation); evaluation
# batches of 1.5 x 128.
train_dataloader = dict(
    dataset=dict(pipeline=train_pipeline),
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True))
val_dataloader = dict(batch_size=192, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# The official logs (RMT_log/rmt_*_label.txt) run 310 epochs and their logged lr is timm's
# cosine over 310 (train_s.sh passes --epochs 300; the logs are the ground truth).
__max_epochs = 310
param_scheduler = [
    dict(type='rmt_mm.TimmCosineLR', t_initial=__max_epochs, warmup_t=5, warmup_lr_init=1e-6,
         lr_min=1e-5, lag=1, by_epoch=True)
]
train_cfg = dict(max_epochs=__max_epochs)
