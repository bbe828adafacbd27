# mmdet's four-scale DINO 12e recipe with an RMT backbone; the configs of a variant set its
# arch, checkpoint and the neck's in_channels (each config lists what it changed).
_base_ = [
    'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py', '../../../_base_/rmt_backbone.py',
    '../../../_base_/reliability.py'
]

custom_imports = dict(imports=['rmt_mm.models'], allow_failed_imports=False)
model = dict(backbone={{_base_.rmt_backbone}})
default_hooks = dict(checkpoint=dict(backend_args={{_base_.atomic_checkpoints}}))
custom_hooks = [{{_base_.random_state_hook}}, {{_base_.finite_loss_hook}}]
