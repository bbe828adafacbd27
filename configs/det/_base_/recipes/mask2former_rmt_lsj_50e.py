# mmdet's Mask2Former COCO instance segmentation recipe (large-scale jitter, 50 epochs) with an
# RMT backbone; the configs of a variant set its arch, checkpoint and the head's in_channels.
_base_ = [
    'mmdet::mask2former/mask2former_swin-t-p4-w7-224_8xb2-lsj-50e_coco.py',
    '../../../_base_/rmt_backbone.py', '../../../_base_/mask2former_custom_keys.py',
    '../../../_base_/reliability.py'
]

custom_imports = dict(imports=['rmt_mm.models'], allow_failed_imports=False)
model = dict(backbone={{_base_.rmt_backbone}})
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={{_base_.mask2former_custom_keys}}))
default_hooks = dict(checkpoint=dict(backend_args={{_base_.atomic_checkpoints}}))
custom_hooks = [{{_base_.random_state_hook}}, {{_base_.finite_loss_hook}}]
