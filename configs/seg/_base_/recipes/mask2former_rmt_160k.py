# mmseg's Mask2Former ADE20K 160k 512x512 recipe with an RMT backbone; the configs of a variant
# set its arch, checkpoint and the head's in_channels.
_base_ = [
    'mmseg::mask2former/mask2former_swin-t_8xb2-160k_ade20k-512x512.py',
    '../../../_base_/rmt_backbone.py', '../../../_base_/mask2former_custom_keys.py',
    '../../../_base_/reliability.py'
]

# mmseg's Mask2Former is built from mmdet's modules: its import stays, rmt_mm's is added.
custom_imports = dict(imports=['mmdet.models', 'rmt_mm.models'], allow_failed_imports=False)
model = dict(backbone={{_base_.rmt_backbone}})
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={{_base_.mask2former_custom_keys}}))
default_hooks = dict(checkpoint=dict(backend_args={{_base_.atomic_checkpoints}}))
custom_hooks = [{{_base_.random_state_hook}}, {{_base_.finite_loss_hook}}]
