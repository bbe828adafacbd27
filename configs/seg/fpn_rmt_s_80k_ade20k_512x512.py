_base_ = './fpn_rmt_t_80k_ade20k_512x512.py'

model = dict(backbone=dict(arch='s', init_cfg=dict(checkpoint='checkpoints/rmt_s_in1k.pth')))
