_base_ = './rmt_s_in1k.py'

# Fine-tune RMT-S at 384x384 from the 224x224 ImageNet-1k checkpoint. MaSA's spatial decay is
# a function of the token distance and the rotary tables are computed per size, so nothing is
# interpolated: the same weights simply run on the larger token grid.
load_from = 'checkpoints/rmt_s_in1k.pth'  # a converted official or an rmt_mm checkpoint

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=384, backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    {{_base_.rand_augment}},
    {{_base_.random_erasing}},
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=384, backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# 30 epochs, AdamW 2e-5 at a global batch of 1024 (8 GPUs x 64 x 2 accumulation is also fine),
# 1-epoch warm-up, cosine to 1e-7, little weight decay.
optim_wrapper = dict(
    optimizer=dict(lr=2e-5, weight_decay=1e-8),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-7, by_epoch=True, begin=1, end=30,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=30)
auto_scale_lr = dict(base_batch_size=1024)
