# RMT on ImageNet-1k: the official recipe (classification code and training logs of the paper)
# in mmpretrain 1.x form. Leaf configs set the variant, its drop path rate and the neck width.
_base_ = '../../_base_/reliability.py'
default_scope = 'mmpretrain'
custom_imports = dict(imports=['rmt_mm.models'], allow_failed_imports=False)

# ---------------------------------------------------------------------------- model
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

# ---------------------------------------------------------------------------- data
dataset_type = 'ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
bgr_mean = data_preprocessor['mean'][::-1]
bgr_std = data_preprocessor['std'][::-1]

# timm's rand-m9-mstd0.5-inc1 and random erasing 0.25 (named: the 384 fine-tune reuses them)
rand_augment = dict(
    _scope_='mmpretrain',  # builds its policies
    type='RandAugment',
    policies='timm_increasing',
    num_policies=2,
    total_level=10,
    magnitude_level=9,
    magnitude_std=0.5,
    hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic'))
random_erasing = dict(
    _scope_='mmpretrain',
    type='RandomErasing',
    erase_prob=0.25,
    mode='rand',
    min_area_ratio=0.02,
    max_area_ratio=1 / 3,
    fill_color=bgr_mean,
    fill_std=bgr_std)
train_pipeline = [
    dict(_scope_='mmpretrain', type='LoadImageFromFile'),
    dict(_scope_='mmpretrain', type='RandomResizedCrop', scale=224, backend='pillow',
         interpolation='bicubic'),
    dict(_scope_='mmpretrain', type='RandomFlip', prob=0.5, direction='horizontal'),
    rand_augment,
    random_erasing,
    dict(_scope_='mmpretrain', type='PackInputs'),
]
# The official evaluation: resize the short side to 256 (bicubic), centre crop 224.
test_pipeline = [
    dict(_scope_='mmpretrain', type='LoadImageFromFile'),
    dict(_scope_='mmpretrain', type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(_scope_='mmpretrain', type='CenterCrop', crop_size=224),
    dict(_scope_='mmpretrain', type='PackInputs'),
]

# 128 images per GPU for training, 64 for evaluation (the official loaders); the official
# training drops the last incomplete batch.
loader = dict(num_workers=8, persistent_workers=True, pin_memory=True)
train_dataloader = dict(
    **loader,
    batch_size=128,
    drop_last=True,
    dataset=dict(_scope_='mmpretrain', type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline),
    # Repeated augmentation (DeiT's RASampler, 3 repeats), as the official training.
    sampler=dict(_scope_='mmpretrain', type='RepeatAugSampler', shuffle=True))
val_dataloader = dict(
    **loader,
    batch_size=64,
    dataset=dict(_scope_='mmpretrain', type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(_scope_='mmpretrain', type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# ---------------------------------------------------------------------------- schedule
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

# timm ModelEma: decay 0.99996 per 512 images, scaled by the actual total batch, over the
# whole state_dict (BatchNorm statistics too).
ema_hook = dict(type='rmt_mm.BatchScaledEMAHook', decay=0.99996, base_batch_size=512,
                priority='ABOVE_NORMAL')
custom_hooks = [ema_hook, {{_base_.random_state_hook}}, {{_base_.finite_loss_hook}}]

# ---------------------------------------------------------------------------- runtime
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
