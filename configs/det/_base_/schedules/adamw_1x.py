# The official Mask R-CNN 1x schedule (detect/configs/RMT/maskrcnn_*_1x.py on mmdet 2.11's
# schedule_1x.py): 12 epochs, lr steps at 8 and 11, 500-iteration linear warm-up from 0.001 x
# lr; AdamW, weight decay 0.05. The lr is for 8 GPUs x 2 images (auto_scale_lr rescales for
# other batches with --auto-scale-lr).
__max_epochs = 12
# mmengine's default loops (no `type`: they build the data loaders in the config's scope).
train_cfg = dict(by_epoch=True, max_epochs=__max_epochs, val_interval=1)
# The official runs train under fp16 (`fp16 = dict()`: mmcv's Fp16OptimizerHook) and evaluate
# under it too (tools/test.py wraps the model with wrap_fp16_model).
val_cfg = dict(fp16=True)
test_cfg = dict(fp16=True)
param_scheduler = [
    # mmcv's linear warm-up multiplies the lr by 0.001 + 0.999 * i / 500 and reaches 1 at
    # iteration 500; mmengine's LinearLR reaches end_factor at end - 1, hence end=501.
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=501),
    dict(type='MultiStepLR', begin=0, end=__max_epochs, by_epoch=True, milestones=[8, 11],
         gamma=0.1),
]
optim_wrapper = dict(
    # AMP with a dynamic loss scale (AmpOptimWrapper's default): the official `fp16 = dict()`
    # merged with its default_runtime's loss_scale='dynamic'.
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.05),
    # The official custom_keys, matched by substring of the parameter's name as in mmcv 1.x
    # (and mmengine): every parameter whose name contains 'norm' (the blocks' LayerNorms, the
    # downsampling BatchNorms, the output norms) has no weight decay; the stem's BatchNorms
    # (patch_embed.proj.*) and all biases keep it. The first two keys match no RMT parameter.
    paramwise_cfg=dict(custom_keys={
        'absolute_pos_embed': dict(decay_mult=0.),
        'relative_position_bias_table': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.)
    }))
auto_scale_lr = dict(enable=False, base_batch_size=16)
