# The official ImageNet schedule: AdamW, timm's per-epoch cosine, raw and EMA evaluation.
# The official script always scales lr = 5e-4 x total batch / 512, whatever the GPU count
# (2e-3 at the logged 16 GPUs x 128): auto_scale_lr is on.
optim_wrapper = dict(
    # AMP with a dynamic loss scale (AmpOptimWrapper's default), as timm's NativeScaler.
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    # No weight decay on 1-D parameters (norms) and biases: timm's param_groups_weight_decay.
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
auto_scale_lr = dict(enable=True, base_batch_size=512)
# timm's CosineLRScheduler stepped after each epoch: 5 warm-up epochs from 1e-6, the cosine
# over 300 epochs counted from epoch 0, floor 1e-5; epoch e trains at timm's value for e - 1
# (the official main.py steps with the finished epoch), as RMT_log/*.txt shows.
param_scheduler = [
    dict(type='rmt_mm.TimmCosineLR', t_initial=300, warmup_t=5, warmup_lr_init=1e-6,
         lr_min=1e-5, lag=1, by_epoch=True)
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
# The trained weights and their EMA evaluated after every epoch, under autocast (the
# official evaluate()); the best of the two is 'raw_or_ema/accuracy/top1'.
val_cfg = dict(_scope_='mmpretrain', type='rmt_mm.RawAndEMAValLoop', fp16=True)
test_cfg = dict(fp16=True)
