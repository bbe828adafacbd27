_base_ = ['mmdet::_base_/default_runtime.py', '../../_base_/reliability.py']

# rmt_mm.RMT builds without this line too (rmt_mm's registry is found by its scope); it is
# here so that mmdet's own tools/train.py imports rmt_mm first.
custom_imports = dict(imports=['rmt_mm.models'], allow_failed_imports=False)

# A checkpoint every epoch, the last one kept (official checkpoint_config max_keep_ckpts=1).
default_hooks = dict(
    checkpoint=dict(interval=1, max_keep_ckpts=1, backend_args={{_base_.atomic_checkpoints}}))
custom_hooks = [{{_base_.random_state_hook}}, {{_base_.finite_loss_hook}}]
