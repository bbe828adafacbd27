_base_ = './upernet_rmt_s_160k_ade20k_512x512.py'

model = dict(
    backbone=dict(arch='l', init_cfg=dict(checkpoint='checkpoints/rmt_l_in1k.pth')),
    decode_head=dict(in_channels=[112, 224, 448, 640]),
    auxiliary_head=dict(in_channels=448))
