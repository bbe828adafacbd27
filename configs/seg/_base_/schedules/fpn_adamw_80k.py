_base_ = '../../../_base_/reliability.py'

# The official Semantic FPN schedule (segmentation/configs/RMT/RMT_FPN_*_1x.py on mmseg 0.13's
# schedule_80k.py): 80k iterations of 8 GPUs x 2 images, AdamW lr 1e-4, weight decay 1e-4 on
# every parameter, poly 0.9 from iteration 0 down to 1e-6, no warm-up; fp32 (the official
# FPN configs set no fp16).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [
    # mmcv's poly: (lr - min_lr) * (1 - i / 80000) ** 0.9 + min_lr; mmengine's PolyLR divides
    # by end - 1, hence end=80001.
    dict(type='PolyLR', power=0.9, eta_min=1e-6, by_epoch=False, begin=0, end=80001)
]
# mmengine's default loops (no `type`: they build the data loaders in the config's scope).
train_cfg = dict(by_epoch=False, max_iters=80000, val_interval=4000)
val_cfg = dict()
test_cfg = dict()
# mmseg's schedule hooks with the official cadence: a checkpoint every 4000 iterations, all
# kept; atomic checkpoint files.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000,
                    backend_args={{_base_.atomic_checkpoints}}),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(_scope_='mmseg', type='SegVisualizationHook'))
auto_scale_lr = dict(enable=False, base_batch_size=16)
custom_hooks = [{{_base_.random_state_hook}}, {{_base_.finite_loss_hook}}]
