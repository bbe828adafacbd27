_base_ = './rmt_s_in1k.py'

# Fine-tune RMT-S at 384x384 from the 224x224 ImageNet-1k checkpoint. MaSA's spatial decay is
# a function of the token distance and the rotary tables are computed per size, so nothing is
# interpolated: the same weights simply run on the larger token grid.
load_from = 'checkpoints/rmt_s_in1k.pth'  # a converted official or an rmt_mm checkpoint

train_pipeline = [
    dict(_scope_='mmpretrain', type='LoadImageFromFile'),
    dict(_scope_='mmpretrain', type='RandomResizedCrop', scale=384, backend='pillow',
         interpolation='bicubic'),
    dict(_scope_='mmpretrain', type='RandomFlip', prob=0.5, direction='horizontal'),
    {{_base_.rand_augment}},
    {{_base_.random_erasing}},
    dict(_scope_='mmpretrain', type='PackInputs'),
]
# The official evaluation transform above 224 px: short side to the input size (bicubic),
# centre crop (crop_pct 1.0).
test_pipeline = [
    dict(_scope_='mmpretrain', type='LoadImageFromFile'),
    dict(_scope_='mmpretrain', type='ResizeEdge', scale=384, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(_scope_='mmpretrain', type='CenterCrop', crop_size=384),
    dict(_scope_='mmpretrain', type='PackInputs'),
]
# Our recipe (the official code has no 384 fine-tune): 8 GPUs x 64 images x 2 accumulated
# iterations = 1024 images per update, AdamW 2e-5, 1-epoch warm-up, cosine to 1e-7, little
# weight decay. auto_scale_lr counts the images per iteration (GPUs x 64 = 512 here), not the
# accumulation, so 2e-5 is the lr at 512 per iteration; the EMA (decay per 512 images, updated
# every iteration) follows the images seen the same way.
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(
    accumulative_counts=2,
    optimizer=dict(lr=2e-5, weight_decay=1e-8),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-7, by_epoch=True, begin=1, end=30,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=30)
auto_scale_lr = dict(base_batch_size=512)
