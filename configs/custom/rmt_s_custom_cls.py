# RMT-S fine-tuned on your own ImageNet-style folder of N classes (docs/own_data.md): a recipe
# of ours. Taken from: configs/cls/rmt_s_in1k.py (the paper's ImageNet recipe). Changed:
#   - model.backbone.init_cfg: the official ImageNet-1k checkpoint (the head starts anew)
#   - the class count of the head and of Mixup/CutMix's one-hot labels (data_preprocessor)
#   - the data: CustomDataset over data_root/{train,val}/<class>/*.jpg (classes: the
#     sub-folders, in sorted order), evaluated by top-1 only (top-5 needs more than 5 classes)
#   - the schedule: 30 epochs with 2 of warm-up, cosine as the paper's 300 (a fine-tune from
#     ImageNet weights, not a training from scratch)
# Everything else is the paper's recipe: AdamW 5e-4 per 512 images (auto-scaled to your batch),
# RandAugment, Mixup/CutMix, random erasing, label smoothing, EMA, AMP.
_base_ = '../cls/rmt_s_in1k.py'

data_root = 'data/my_images'
__num_classes = 5

model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='checkpoints/rmt_s_in1k.pth')),
    head=dict(num_classes=__num_classes))
data_preprocessor = dict(num_classes=__num_classes)
__dataset = dict(_delete_=True, _scope_='mmpretrain', type='CustomDataset', data_root=data_root)
train_dataloader = dict(
    dataset=dict(**__dataset, data_prefix='train', pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(**__dataset, data_prefix='val', pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1, ))
test_evaluator = val_evaluator

__max_epochs = 30
param_scheduler = [
    dict(type='rmt_mm.TimmCosineLR', t_initial=__max_epochs, warmup_t=2, warmup_lr_init=1e-6,
         lr_min=1e-5, lag=1, by_epoch=True)
]
train_cfg = dict(max_epochs=__max_epochs)
