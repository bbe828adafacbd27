_base_ = './fpn_adamw_80k.py'

# The official UperNet schedule (RMT_Uper_*_2x.py): 160k iterations of 8 GPUs x 2 images,
# AdamW lr 6e-5, weight decay 0.01, fp16 with a static loss scale of 512 (Fp16OptimizerHook),
# evaluated under fp16 too.
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale=512.0,
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    # The official custom_keys, matched by substring as in mmcv 1.x (and mmengine): no decay
    # for parameters whose name contains 'norm' (the backbone's LayerNorms, downsampling and
    # output norms); the stem's BatchNorms, the heads' BatchNorms ('bn') and biases keep it.
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.),
        'relative_position_bias_table': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.)
    }))
param_scheduler = [
    # mmcv's warm-up multiplies the poly lr by 1e-6 + (1 - 1e-6) * i / 1500 (1 at iteration
    # 1500; LinearLR reaches end_factor at end - 1). The official UperNet-S config writes
    # 1500 // (gpu_multipliers // 2) with gpu_multipliers=1, a division by zero: we take the
    # 1500 of its B and L siblings.
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1501),
    # Poly 1.0 to 0 from iteration 0 (under the warm-up), as mmcv applies it.
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=0, end=160001),
]
train_cfg = dict(max_iters=160000, val_interval=8000)
val_cfg = dict(fp16=True)
test_cfg = dict(fp16=True)
# Official: a checkpoint every 8000 iterations, the last one kept, and save_best='mIoU' (which
# its mmseg 0.13 never honoured; here the best checkpoint is kept as well). The official
# UperNet-B config divides its interval by gpu_multipliers // 2 = 0; we take 8000.
default_hooks = dict(checkpoint=dict(interval=8000, max_keep_ckpts=1, save_best='mIoU'))
