_base_ = './adamw_1x.py'

# The official 3x schedule (maskrcnn_*_3x.py, casrcnn_*_3x.py): 36 epochs, lr steps at 27 and 33.
__max_epochs = 36
train_cfg = dict(max_epochs=__max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=501),
    dict(type='MultiStepLR', begin=0, end=__max_epochs, by_epoch=True, milestones=[27, 33],
         gamma=0.1),
]
