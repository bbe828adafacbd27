_base_ = './fpn_adamw_80k.py'

# UperNet: 160k iterations, AdamW lr 6e-5, weight decay 0.01 (none on norms), 1500 linear
# warm-up iterations from 1e-6 x lr, then poly 1.0; AMP with a static loss scale of 512.
optim_wrapper = dict(
    loss_scale=512.0,
    optimizer=dict(lr=6e-5, weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=160000),
]
train_cfg = dict(max_iters=160000, val_interval=16000)
default_hooks = dict(checkpoint=dict(interval=16000))
