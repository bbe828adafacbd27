_base_ = '../../_base_/reliability.py'
default_scope = 'mmpretrain'
# rmt_mm.RMT builds without this line too (rmt_mm's registry is found by its scope); it is
# here so that mmpretrain's own tools/train.py imports rmt_mm first.
custom_imports = dict(imports=['rmt_mm.models'], allow_failed_imports=False)

# timm ModelEma: decay 0.99996 per 512 images, scaled by the actual total batch, over the
# whole state_dict (BatchNorm statistics too).
__ema_hook = dict(type='rmt_mm.BatchScaledEMAHook', decay=0.99996, base_batch_size=512,
                  priority='ABOVE_NORMAL')
custom_hooks = [__ema_hook, {{_base_.random_state_hook}}, {{_base_.finite_loss_hook}}]

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='raw_or_ema/accuracy/top1', rule='greater',
                    backend_args={{_base_.atomic_checkpoints}}),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(_scope_='mmpretrain', type='VisualizationHook', enable=False),
)
# The official training converts every BatchNorm to SyncBatchNorm.
sync_bn = 'torch'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(_scope_='mmpretrain', type='UniversalVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None
resume = False
# The official seed is 0 + rank.
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
