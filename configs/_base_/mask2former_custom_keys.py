# The optimizer rule of mmdet's and mmseg's Swin Mask2Former configs, for RMT's parameter
# names: the backbone at 0.1 x lr, its norm layers (and the queries' and levels' embeddings)
# without weight decay. Swin names each norm per block; RMT's norms are found by these
# substrings, which no Mask2Former head parameter contains (tested). Keys are matched longest
# first, so a norm key wins over 'backbone'; `_delete_` drops the source's Swin keys.
__backbone_norm = dict(lr_mult=0.1, decay_mult=0.0)
__embedding = dict(lr_mult=1.0, decay_mult=0.0)
mask2former_custom_keys = {
    '_delete_': True,
    'backbone': dict(lr_mult=0.1, decay_mult=1.0),
    # the stem's BatchNorms (conv, BN, GELU, ... conv, BN)
    'backbone.patch_embed.proj.1': __backbone_norm,
    'backbone.patch_embed.proj.4': __backbone_norm,
    'backbone.patch_embed.proj.7': __backbone_norm,
    'backbone.patch_embed.proj.10': __backbone_norm,
    'retention_layer_norm': __backbone_norm,
    'final_layer_norm': __backbone_norm,
    'downsample.norm': __backbone_norm,
    'backbone.extra_norms': __backbone_norm,
    'query_embed': __embedding,
    'query_feat': __embedding,
    'level_embed': __embedding,
}
