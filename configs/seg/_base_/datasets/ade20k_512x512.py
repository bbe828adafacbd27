_base_ = 'mmseg::_base_/datasets/ade20k.py'

# 8 GPUs x 2 images, crop 512x512 (mmseg's ADE20K pipeline; whole-image test at 2048x512,
# multi-scale + flip through `tools/test.py --tta`).
train_dataloader = dict(batch_size=2)
