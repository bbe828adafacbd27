# The RMT backbone of every detector and segmentor, as the official dense configs: all four stages
# with their output LayerNorms, SyncBN in the stem and downsampling layers, ImageNet weights.
# Only what every variant shares: the configs of a variant set `arch` and
# `init_cfg=dict(type='Pretrained', checkpoint=...)` (and their neck's in_channels), so that
# this helper, which mmengine keeps as a top-level key of every config, holds nothing stale.
rmt_backbone = dict(
    _delete_=True,  # replaces the ResNet (Swin) of mmdet's (mmseg's) base models
    type='rmt_mm.RMT',
    drop_path_rate=None,  # None: the variant's ImageNet value (T 0.1, S 0.15, B 0.4, L 0.5)
    out_indices=(0, 1, 2, 3),
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    # The official configs ask for norm_eval, which never reached their SyncBN layers, so the
    # statistics were trained; False reproduces that behaviour.
    norm_eval=False,
    frozen_stages=-1,
    with_cp=False)
