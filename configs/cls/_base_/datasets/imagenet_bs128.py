# ImageNet-1k as the official training reads it: timm's augmentation, 128 images per GPU.
dataset_type = 'ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(
    num_classes=1000,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
# Names starting with '__' are this file's own: mmengine leaves them out of the config.
__bgr_mean = data_preprocessor['mean'][::-1]
__bgr_std = data_preprocessor['std'][::-1]

# timm's rand-m9-mstd0.5-inc1 and random erasing 0.25 (named: the 384 fine-tune reuses them)
rand_augment = dict(
    _scope_='mmpretrain',  # builds its policies
    type='RandAugment',
    policies='timm_increasing',
    num_policies=2,
    total_level=10,
    magnitude_level=9,
    magnitude_std=0.5,
    hparams=dict(pad_val=[round(x) for x in __bgr_mean], interpolation='bicubic'))
random_erasing = dict(
    _scope_='mmpretrain',
    type='RandomErasing',
    erase_prob=0.25,
    mode='rand',
    min_area_ratio=0.02,
    max_area_ratio=1 / 3,
    fill_color=__bgr_mean,
    fill_std=__bgr_std)
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
__loader = dict(num_workers=8, persistent_workers=True, pin_memory=True)
train_dataloader = dict(
    **__loader,
    batch_size=128,
    drop_last=True,
    dataset=dict(_scope_='mmpretrain', type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline),
    # Repeated augmentation (DeiT's RASampler, 3 repeats), as the official training.
    sampler=dict(_scope_='mmpretrain', type='RepeatAugSampler', shuffle=True))
val_dataloader = dict(
    **__loader,
    batch_size=64,
    dataset=dict(_scope_='mmpretrain', type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(_scope_='mmpretrain', type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
