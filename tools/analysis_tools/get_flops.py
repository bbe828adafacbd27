"""Parameters and FLOPs of any rmt_mm config (classification, detection or segmentation).

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W] [--cfg-options ...] [--out F]

Counted by :func:`rmt_mm.apis.analysis.complexity` (mmengine's complexity analysis; see
there). Defaults: 224x224 (cls), 800x1280 (det, H x W), 512x2048 (seg).

Two figures are printed: all operations, and all but MaSA's attention products (q k^T and
attention x v). The second is what hook-based counters such as mmcv's see, and it is the
convention of the paper's detection and segmentation tables.
"""
import argparse
import json


def parse_args(argv=None):
    from rmt_mm.apis.cli import add_cfg_options, add_out_argument, add_shape_argument
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    add_shape_argument(parser, help="input height and width (default: the task's)")
    add_cfg_options(parser)
    add_out_argument(parser, help='also write the result to this JSON file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from rmt_mm.apis.analysis import complexity
    from rmt_mm.apis.cli import prepare_output
    result = complexity(args.config, args.shape, args.cfg_options)
    h, w = result['shape']
    print(f"{args.config}\n  input 3x{h}x{w}: params {result['params'] / 1e6:.2f} M, "
          f"FLOPs {result['flops'] / 1e9:.1f} G "
          f"({result['flops_without_attention'] / 1e9:.1f} G without the attention products)")
    if args.out:
        with open(prepare_output(args.out), 'w') as f:
            json.dump(dict(config=args.config, **result), f)


if __name__ == '__main__':
    main()
