"""Where CPU inference time goes: RMT against mmpretrain's Swin-T and ConvNeXt-T, by operator
family (torch.profiler).

    python tools/analysis_tools/profile_backbone.py [--arch s] [--batch 16] [--shape 224 224]
        [--peers SwinTransformer:tiny ConvNeXt:tiny] [--runs 3] [--out profile.json]

Builds the same ImageNet classifiers as ``benchmark_backbone.py --classifier`` (randomly
initialised), runs them interleaved after one warm-up, and sums the self CPU time of torch's
operators into families: attention (fused SDPA, batched matmuls, softmax), convolutions, GEMMs
(linear layers), norms, GELU, other elementwise work (residual sums, rotary products, layer
scale), copies and layout changes, and the rest. Prints milliseconds per batch (median over
runs) per family and model, as a Markdown table; --out saves it as JSON.
"""
import argparse
import json
import statistics

import torch

from rmt_mm.apis.cli import add_out_argument, add_shape_argument, prepare_output

# operator (aten::name without the namespace) -> family: a name listed, or one starting with a
# listed name that ends in '*'; the first family that matches wins.
FAMILIES = (
    ('attention', ('_scaled_dot_product*', 'scaled_dot_product*', '_flash_attention*', 'bmm',
                   'baddbmm', 'softmax', '_softmax')),
    ('convolutions', ('mkldnn_convolution', 'convolution', '_convolution', 'conv2d',
                      '_nnpack*', 'thnn_conv*', '_slow_conv*', 'slow_conv*')),
    ('GEMMs (linear)', ('addmm', 'mm', 'linear', 'matmul')),
    ('norms', ('native_layer_norm', 'layer_norm', 'native_batch_norm', 'batch_norm',
               '_batch_norm')),
    ('GELU', ('gelu', 'gelu_')),
    ('elementwise (residuals, rotary, scales)', ('add', 'add_', 'mul', 'mul_', 'addcmul',
                                                 'addcmul_', 'div', 'sub', 'neg', 'mean',
                                                 'exp', 'sin', 'cos', 'where', 'sum')),
    ('copies and layout', ('copy_', 'clone', 'contiguous', 'cat', 'empty', 'fill_', 'zero_',
                           'zeros', 'roll', 'pad', 'constant_pad_nd', 'index', 'gather',
                           'view_as_complex', 'view_as_real', 'permute', 'transpose',
                           'reshape', 'as_strided', 'unfold', 'narrow', 'slice', 'select',
                           'expand', 'view', 't', 'unsqueeze', 'squeeze', 'flatten',
                           'resolve_conj', '_reshape_alias')),
)


def family(op: str) -> str:
    name = op.split('::', 1)[-1]
    for label, names in FAMILIES:
        if any(name == n or (n.endswith('*') and name.startswith(n[:-1])) for n in names):
            return label
    return 'other'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='s', help='RMT variant: t, s, b or l')
    parser.add_argument('--batch', type=int, default=16)
    add_shape_argument(parser, [224, 224])
    parser.add_argument('--peers', nargs='*', default=['SwinTransformer:tiny', 'ConvNeXt:tiny'],
                        metavar='TYPE[:ARCH]', help='mmpretrain backbones profiled alongside')
    parser.add_argument('--runs', type=int, default=3)
    add_out_argument(parser, help='write the table to this JSON file')
    return parser.parse_args(argv)


def profile_once(model, x) -> dict:
    """{family: milliseconds} of one forward (self CPU time of every operator)."""
    from torch.profiler import ProfilerActivity, profile
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        model(x)
    totals = {}
    for event in prof.key_averages():
        if event.key.startswith('aten::'):
            label = family(event.key)
            totals[label] = totals.get(label, 0.0) + event.self_cpu_time_total / 1000
    totals['total'] = sum(totals.values())
    return totals


def main(argv=None):
    import os.path as osp
    import sys
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_backbone import build_model, build_peer  # the benchmark's own models
    args = parse_args(argv)
    bench_args = argparse.Namespace(arch=args.arch, classifier=True, shape=args.shape)
    models = {f'RMT-{args.arch.upper()}': build_model(bench_args, 'auto')}
    models.update({peer: build_peer(peer, True, args.shape) for peer in args.peers})
    x = torch.randn(args.batch, 3, *args.shape)
    runs = {name: [] for name in models}
    for model in models.values():  # warm-up: caches, allocator, one-time kernels
        with torch.no_grad():
            model.eval()(x)
    for _ in range(args.runs):
        for name, model in models.items():  # interleaved, as the benchmark
            runs[name].append(profile_once(model, x))
    labels = [label for label, _ in FAMILIES] + ['other', 'total']
    table = {name: {label: statistics.median(r.get(label, 0.0) for r in results)
                    for label in labels} for name, results in runs.items()}
    names = list(models)
    print(f'ms per batch of {args.batch}x3x{args.shape[0]}x{args.shape[1]}, fp32, '
          f'{torch.get_num_threads()} threads, median of {args.runs} profiled runs '
          f'(self CPU time of torch operators):\n')
    print('| family | ' + ' | '.join(names) + ' |')
    print('|---|' + '---|' * len(names))
    for label in labels:
        print(f'| {label} | ' + ' | '.join(f'{table[n][label]:.0f}' for n in names) + ' |')
    if args.out:
        with open(prepare_output(args.out), 'w') as f:
            json.dump(dict(batch=args.batch, shape=args.shape, runs=args.runs, ms=table), f,
                      indent=2)


if __name__ == '__main__':
    main()
