# Sliding-window testing (512x512 windows, stride 341) instead of the whole image. A config
# cannot list this file next to a model config in `_base_` and get it merged (both would define
# `model`, which mmengine refuses), so it holds the setting under its own name for a child
# config to use (configs/seg/README.md, "Testing"):
#   _base_ = ['./upernet_rmt_s_160k_ade20k_512x512.py', './_base_/slide_inference.py']
#   model = dict(test_cfg={{_base_.slide_test_cfg}})
slide_test_cfg = dict(mode='slide', crop_size=(512, 512), stride=(341, 341))
