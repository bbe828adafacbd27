"""Speed and peak memory of the RMT backbone (or classifier) per attention implementation,
next to mmpretrain's backbones (``--peers``) timed in the same run and the same way.

Timing: one process builds the model once per implementation (same weights) and alternates
between them run by run, so that machine noise hits every implementation alike; the median
of ``--runs`` timed iterations after ``--warmup`` is reported, as images per second.
``infer`` is a forward under no_grad in eval mode; ``train`` a forward, backward and SGD step
in train mode.

``--compile`` times every model a second time compiled (``torch.compile``, inductor, static
shapes), in the same alternation; the compilation happens in the warm-up. A compiled row's
"vs peer" column compares it with the compiled peer.

Peers are mmpretrain backbones named ``Type`` or ``Type:arch`` (``SwinTransformer:tiny``,
``ConvNeXt:tiny``, any backbone in mmpretrain's registry) or timm models named ``timm:NAME``
(``timm:swin_tiny_patch4_window7_224``, where mmpretrain is not installed), randomly
initialised like ours.
As a dense backbone a peer returns all four stages (``out_indices=(0, 1, 2, 3)``); with
``--classifier`` it keeps its default (last-stage) output, which is pooled and fed to a
1000-class linear head, the shape of mmpretrain's ImageNet classifiers (a timm peer is
timm's own classifier, or its ``features_only`` backbone).

Peak memory of one iteration:

- GPU: ``torch.cuda.max_memory_allocated`` above what was allocated before the iteration;
- CPU: the peak resident set size (``VmHWM``, reset before the iteration) above the resident
  size before it; every (implementation, mode) runs in a fresh subprocess so that freed
  memory kept by the allocator of one does not hide the peak of another.

Memory is measured on the first iteration, so caches built then (the decay masks) count.

Results print as a Markdown table and are saved as JSON (``--out``). The README figures::

    python tools/analysis_tools/benchmark_backbone.py --arch s --classifier --shape 224 224 \\
        --batch 16 --peers SwinTransformer:tiny ConvNeXt:tiny
    python tools/analysis_tools/benchmark_backbone.py --arch t --shape 800 1216 --batch 1 \\
        --modes train
    python tools/analysis_tools/benchmark_backbone.py --arch s --classifier --shape 224 224 \\
        --batch 16 --impls auto --peers SwinTransformer:tiny ConvNeXt:tiny --modes infer \\
        --compile
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

from rmt_mm.apis.cli import (
    add_device_argument,
    add_shape_argument,
    default_output,
    prepare_output,
    resolve_device,
)
from rmt_mm.apis.timing import AUTOCAST_DTYPES, model_step


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='t', help='t, s, b or l')
    parser.add_argument('--classifier', action='store_true',
                        help='the ImageNet classifier (backbone + neck + head) instead of the '
                        'dense backbone')
    add_shape_argument(parser, [224, 224])
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--impls', nargs='+', default=['reference', 'auto'],
                        help='attention implementations to compare (the first is the baseline)')
    parser.add_argument('--peers', nargs='*', default=[], metavar='TYPE[:ARCH]',
                        help='mmpretrain backbones timed alongside, e.g. SwinTransformer:tiny '
                        'ConvNeXt:tiny')
    parser.add_argument('--modes', nargs='+', default=['infer', 'train'],
                        choices=['infer', 'train'])
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--runs', type=int, default=5)
    add_device_argument(parser)
    parser.add_argument('--dtype', default='fp32', choices=list(AUTOCAST_DTYPES),
                        help='autocast dtype (fp32: no autocast)')
    parser.add_argument('--compile', action='store_true',
                        help='also time every model compiled with torch.compile')
    parser.add_argument('--no-memory', action='store_true', help='timing only')
    parser.add_argument('--out', default=default_output('benchmark_backbone.json'),
                        help='JSON output path')
    parser.add_argument('--memory-child', nargs=2, metavar=('CANDIDATE', 'MODE'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.device = resolve_device(args.device)
    for peer in args.peers:
        build_peer(peer, args.classifier, args.shape)  # a wrong name fails before any timing
    return args


# Candidate keys: an attn_impl of RMT, or PEER + an mmpretrain backbone spec; + COMPILED for
# the compiled twin.
PEER = 'peer:'
COMPILED = '+compiled'


def candidates(args):
    eager = list(args.impls) + [PEER + peer for peer in args.peers]
    return eager + ([key + COMPILED for key in eager] if args.compile else [])


def describe(args, candidate):
    """(model, attn_impl) of a candidate, as the table and the JSON name them."""
    candidate = candidate.removesuffix(COMPILED)
    if candidate.startswith(PEER):
        return candidate[len(PEER):], None
    return f'RMT-{args.arch.upper()}', candidate


def build_peer(spec: str, classifier: bool, size) -> torch.nn.Module:
    """A peer from ``Type``/``Type:arch`` (mmpretrain) or ``timm:name`` (see the docstring)."""
    torch.manual_seed(0)
    if spec.startswith('timm:'):
        return _timm_peer(spec[len('timm:'):], classifier)
    try:
        import mmpretrain.models  # noqa: F401  (fills mmpretrain's registry)
        from mmpretrain.registry import MODELS
    except ImportError as e:
        raise SystemExit(f'--peers {spec}: mmpretrain is not installed ({e}); name a timm '
                         f'model instead, e.g. timm:swin_tiny_patch4_window7_224') from e
    name, _, arch = spec.partition(':')
    if name not in MODELS.module_dict:
        raise SystemExit(f'--peers {spec}: {name!r} is not a backbone in mmpretrain\'s '
                         f'registry; e.g. SwinTransformer:tiny, ConvNeXt:tiny, or a timm '
                         f'model as timm:NAME')
    cfg = dict(type=name, **(dict(arch=arch) if arch else {}))
    if not classifier:
        cfg['out_indices'] = (0, 1, 2, 3)
    backbone = MODELS.build(cfg)
    if not classifier:
        return backbone
    backbone.eval()
    with torch.no_grad():  # channels of its (possibly already pooled) last output
        channels = backbone(torch.zeros(1, 3, *size))[-1].shape[1]
    return torch.nn.Sequential(backbone, _LinearHead(channels, 1000))


def _timm_peer(name: str, classifier: bool) -> torch.nn.Module:
    try:
        import timm
    except ImportError as e:
        raise SystemExit(f'--peers timm:{name}: timm is not installed ({e})') from e
    if name not in timm.list_models():
        raise SystemExit(f'--peers timm:{name}: timm has no model {name!r}; e.g. '
                         f'swin_tiny_patch4_window7_224, convnext_tiny')
    # A tensor (classifier) or a list of maps (features_only): model_step takes either.
    if classifier:
        return timm.create_model(name, pretrained=False, num_classes=1000)
    return timm.create_model(name, pretrained=False, features_only=True)


class _LinearHead(torch.nn.Linear):
    """A linear layer on the last output, globally average-pooled first when it is a map
    (RMTClsNeck and ConvNeXt pool already; Swin's last stage is a map)."""

    def forward(self, outs):
        x = outs[-1]
        return (super().forward(x.mean((2, 3)) if x.dim() == 4 else x), )


def build_model(args, candidate):
    if candidate.endswith(COMPILED):
        return torch.compile(build_model(args, candidate.removesuffix(COMPILED)))
    if candidate.startswith(PEER):
        return build_peer(candidate[len(PEER):], args.classifier, args.shape)
    from rmt_mm.models import RMT, RMTClsNeck
    impl = candidate
    torch.manual_seed(0)
    if not args.classifier:
        return RMT(arch=args.arch, attn_impl=impl)
    backbone = RMT(arch=args.arch, out_indices=(3, ), out_norm=False, attn_impl=impl)
    return torch.nn.Sequential(backbone, RMTClsNeck(backbone.embed_dims[-1], 1024),
                               _LinearHead(1024, 1000))


def _status_bytes(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'/proc/self/status has no {field}')


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark (VmHWM) of this process to its current RSS."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


def measure_memory(args, impl, mode):
    """Peak memory growth of one iteration, in MiB (run in a fresh process on CPU)."""
    model = build_model(args, impl).to(args.device)
    x = torch.randn(args.batch, 3, *args.shape, device=args.device)
    step = model_step(model, x, mode == 'train', args.dtype)
    # No warm-up: the first step's one-time allocations (the decay-mask cache of the fused
    # implementations among them) count, as they stay allocated. A compiled model's first
    # step is its compilation, which is not what it runs on.
    if impl.endswith(COMPILED):
        step()
    if args.device == 'cpu':
        base = _status_bytes('VmRSS')
        reset_peak_rss()
        step()
        return (_status_bytes('VmHWM') - base) / 2**20
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    step()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def measure_times(args, mode):
    x = torch.randn(args.batch, 3, *args.shape, device=args.device)
    steps = {key: model_step(build_model(args, key).to(args.device), x, mode == 'train',
                             args.dtype)
             for key in candidates(args)}
    times = {key: [] for key in steps}
    for _ in range(args.warmup):
        for step in steps.values():
            step()
    for _ in range(args.runs):
        for impl, step in steps.items():
            start = time.perf_counter()
            step()
            times[impl].append(time.perf_counter() - start)
    return times


def main(argv=None):
    args = parse_args(argv)
    if args.memory_child:
        print(json.dumps(measure_memory(args, *args.memory_child)))
        return
    results = []
    for mode in args.modes:
        for key, times in measure_times(args, mode).items():
            seconds = sorted(times)[len(times) // 2]
            model, impl = describe(args, key)
            results.append(dict(key=key, model=model, impl=impl, mode=mode,
                                compiled=key.endswith(COMPILED),
                                seconds_per_iter=seconds,
                                images_per_second=args.batch / seconds, times=times,
                                peak_memory_mib=None))
    if not args.no_memory:
        for r in results:
            if args.device == 'cpu':
                cmd = [sys.executable, os.path.abspath(__file__),
                       *(sys.argv[1:] if argv is None else argv),
                       '--memory-child', r['key'], r['mode']]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode:
                    sys.exit(f"memory run of {r['key']}/{r['mode']} failed:\n"
                             f'{proc.stderr[-3000:]}')
                r['peak_memory_mib'] = json.loads(proc.stdout.strip().splitlines()[-1])
            else:
                r['peak_memory_mib'] = measure_memory(args, r['key'], r['mode'])
    report(args, results)
    return results


def report(args, results):
    model = f"RMT-{args.arch.upper()} {'classifier' if args.classifier else 'dense backbone'}"
    device = torch.cuda.get_device_name() if args.device == 'cuda' else \
        f'CPU, {torch.get_num_threads()} threads'
    print(f'\n{model}, input {args.batch}x3x{args.shape[0]}x{args.shape[1]}, {args.dtype}, '
          f'{device}, median of {args.runs} runs after {args.warmup} warm-up')
    mem_name = 'peak MiB' if args.device != 'cpu' else 'peak RSS growth MiB'
    base_name = describe(args, candidates(args)[0])
    base_name = base_name[1] or base_name[0]
    peer_name = args.peers[0] if args.peers else None
    columns = (['mode', 'model', 'attn_impl'] + (['compiled'] if args.compile else []) +
               ['s/iter', 'img/s', mem_name, f'speed-up vs {base_name}', 'memory ratio'] +
               ([f'img/s vs {peer_name}'] if peer_name else []))
    print('| ' + ' | '.join(columns) + ' |')
    print('|' + '---|' * len(columns))
    for mode in args.modes:
        rows = [r for r in results if r['mode'] == mode]
        base = rows[0]
        for r in rows:
            suffix = COMPILED if r['compiled'] else ''
            peer = next((p for p in rows if p['key'] == PEER + peer_name + suffix), None) \
                if peer_name else None
            r['speedup'] = base['seconds_per_iter'] / r['seconds_per_iter']
            mem = r['peak_memory_mib']
            r['memory_ratio'] = mem / base['peak_memory_mib'] if mem is not None else None
            cells = ([mode, r['model'], r['impl'] or '-'] +
                     (['yes' if r['compiled'] else 'no'] if args.compile else []) +
                     [f"{r['seconds_per_iter']:.3f}", f"{r['images_per_second']:.2f}",
                      '-' if mem is None else f'{mem:.0f}', f"{r['speedup']:.2f}x",
                      '-' if mem is None else f"{r['memory_ratio']:.2f}"])
            if peer is not None:
                r['vs_peer'] = r['images_per_second'] / peer['images_per_second']
                cells.append(f"{r['vs_peer']:.2f}x")
            print('| ' + ' | '.join(cells) + ' |')
    with open(prepare_output(args.out), 'w') as f:
        json.dump(dict(config={k: v for k, v in vars(args).items() if k != 'memory_child'},
                       device=device, results=results), f, indent=2)
    print(f'\nsaved {args.out}')


if __name__ == '__main__':
    main()
