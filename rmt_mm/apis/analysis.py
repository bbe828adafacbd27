"""Model analysis shared by the tools: parameter and FLOP counts of a config's model.

FLOPs are counted by mmengine's complexity analysis (fvcore-style: one multiply-add counts as
one FLOP) on a forward in ``tensor`` mode, SyncBN reverted to BN. Detectors count the
backbone, neck, RPN and RoI heads on the RPN's proposals, as mmdet's get_flops does. Two
figures: all operations, and all but MaSA's attention products (q k^T and attention x v),
which is what hook-based counters such as mmcv's see and the convention of the paper's
detection and segmentation tables.
"""
import logging

import torch

from rmt_mm.deployment import TensorMode
from rmt_mm.models.layers import MaSA
from rmt_mm.utils.tasks import get_task

from .runner import build_model


def count_params(config, cfg_options=None) -> int:
    """Parameters of the model a config builds."""
    return sum(p.numel() for p in build_model(config, cfg_options)[1].parameters())


def complexity(config, shape=None, cfg_options=None):
    """{'params', 'flops', 'flops_without_attention', 'shape'} of the model a config builds,
    at ``shape`` (H, W; default: the task's, :mod:`rmt_mm.utils.tasks`)."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.logging import MMLogger

    cfg, model = build_model(config, cfg_options)
    task = get_task(cfg)
    height, width = shape or task.default_shape
    inputs = torch.zeros(1, 3, height, width)
    samples = task.dummy_data_samples(height, width)

    traced = TensorMode(model, data_samples=samples)
    # mmengine's counter counts the attention as the two matrix products MaSA writes while
    # traced (rmt_mm.models.layers.masa.sdpa; checked against fvcore's count of the official
    # classifiers in the tests); the attention products are also counted from the shapes
    # each MaSA saw, for the figure without them. 'sdpa' everywhere: one kernel per attention.
    for module in model.modules():
        if isinstance(module, MaSA):
            module.attn_impl = 'sdpa'
    attention = [0]

    def count_attention(module, args, _):
        B, H, W, C = args[0].shape
        if module.decomposed:  # along W in every row, then along H in every column
            attention[0] += 2 * B * C * (H * W * W + W * H * H)
        else:
            attention[0] += 2 * B * C * (H * W)**2

    hooks = [m.register_forward_hook(count_attention) for m in model.modules()
             if isinstance(m, MaSA)]
    with torch.no_grad():
        traced(inputs)
    for hook in hooks:
        hook.remove()
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # the analyzer lists every module it saw no call of
    try:
        with torch.no_grad():
            flops = get_model_complexity_info(
                traced, inputs=(inputs, ), show_table=False, show_arch=False)['flops']
    finally:
        logger.setLevel(level)
    return dict(params=sum(p.numel() for p in model.parameters()), flops=flops,
                flops_without_attention=flops - attention[0], shape=(height, width))
