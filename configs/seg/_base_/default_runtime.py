_base_ = 'mmseg::_base_/default_runtime.py'

# rmt_mm.RMT builds without this line too (rmt_mm's registry is found by its scope); it is
# here so that mmseg's own tools/train.py imports rmt_mm first.
custom_imports = dict(imports=['rmt_mm.models'], allow_failed_imports=False)
# The hooks live in the schedules, as in mmseg's layout.
