# RMT on ImageNet-1k: the official recipe (classification code and training logs of the paper)
# in mmpretrain 1.x form, in the four parts every task tree has. Leaf configs set the variant,
# its drop path rate and the neck width.
_base_ = [
    './models/rmt_cls.py', './datasets/imagenet_bs128.py',
    './schedules/imagenet_adamw_300e.py', './default_runtime.py'
]
