_base_ = './upernet_rmt_s_160k_ade20k_512x512.py'

model = dict(
    backbone=dict(arch='b', init_cfg=dict(checkpoint='checkpoints/rmt_b_in1k.pth')),
    decode_head=dict(in_channels=[80, 160, 320, 512]),
    auxiliary_head=dict(in_channels=320))
