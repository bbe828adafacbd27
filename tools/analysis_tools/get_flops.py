"""Parameters and FLOPs of any rmt_mm config (classification, detection or segmentation).

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W] [--cfg-options ...]

FLOPs are counted by mmengine's complexity analysis (fvcore-style: one multiply-add counts
as one FLOP) on a forward in ``tensor`` mode, SyncBN reverted to BN. Detectors count the
backbone, neck, RPN and RoI heads on the RPN's proposals, as mmdet's get_flops does.
Defaults: 224x224 (cls), 800x1280 (det, H x W), 512x2048 (seg).

Two figures are printed: all operations, and all but MaSA's attention products (q k^T and
attention x v). The second is what hook-based counters such as mmcv's see, and it is the
convention of the paper's detection and segmentation tables.
"""
import argparse
import json
import logging

import torch

DEFAULT_SHAPES = {'mmpretrain': (224, 224), 'mmdet': (800, 1280), 'mmseg': (512, 2048)}


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--json', help='also write the result to this JSON file')
    return parser.parse_args(argv)


def dummy_data_samples(scope, height, width):
    meta = dict(img_shape=(height, width), ori_shape=(height, width), pad_shape=(height, width),
                batch_input_shape=(height, width), scale_factor=(1.0, 1.0))
    if scope == 'mmdet':
        from mmdet.structures import DetDataSample
        return [DetDataSample(metainfo=meta)]
    if scope == 'mmseg':
        from mmseg.structures import SegDataSample
        return [SegDataSample(metainfo=meta)]
    return None


def build_model(config, cfg_options=None):
    """(config, model) in eval mode with SyncBN reverted to BN."""
    from rmt_mm.apis import build_model as build
    return build(config, cfg_options)


def count_params(config, cfg_options=None) -> int:
    return sum(p.numel() for p in build_model(config, cfg_options)[1].parameters())


def complexity(config, shape=None, cfg_options=None):
    """{'params', 'flops', 'shape'} of the model a config builds."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.logging import MMLogger

    from rmt_mm.models.layers import MaSA

    cfg, model = build_model(config, cfg_options)

    height, width = shape or DEFAULT_SHAPES[cfg.default_scope]
    inputs = torch.zeros(1, 3, height, width)
    samples = dummy_data_samples(cfg.default_scope, height, width)

    class TensorMode(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x, samples, mode='tensor')

    # mmengine's counter counts the fused attention through the handle rmt_mm.compat adds
    # (checked against fvcore's count of the official classifiers in the tests); the
    # attention products are also counted from the shapes each MaSA saw, for the figure
    # without them. 'sdpa' everywhere: the counter sees one kernel per attention.
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
        TensorMode()(inputs)
    for hook in hooks:
        hook.remove()
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # the analyzer lists every module it saw no call of
    try:
        with torch.no_grad():
            flops = get_model_complexity_info(
                TensorMode(), inputs=(inputs, ), show_table=False, show_arch=False)['flops']
    finally:
        logger.setLevel(level)
    return dict(params=sum(p.numel() for p in model.parameters()), flops=flops,
                flops_without_attention=flops - attention[0], shape=(height, width))


def main(argv=None):
    args = parse_args(argv)
    result = complexity(args.config, args.shape, args.cfg_options)
    h, w = result['shape']
    print(f"{args.config}\n  input 3x{h}x{w}: params {result['params'] / 1e6:.2f} M, "
          f"FLOPs {result['flops'] / 1e9:.1f} G "
          f"({result['flops_without_attention'] / 1e9:.1f} G without the attention products)")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, **result), f)


if __name__ == '__main__':
    main()
