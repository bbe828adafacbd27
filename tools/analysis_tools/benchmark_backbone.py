"""Speed and peak memory of the RMT backbone (or classifier) per attention implementation.

For every implementation and mode (``infer``: forward under no_grad in eval mode; ``train``:
forward, backward and an SGD step in train mode) it runs warm-up iterations and then timed
ones, and reports images per second and the peak memory of one iteration:

- GPU: ``torch.cuda.max_memory_allocated`` above what was allocated before the iteration;
- CPU: the growth of the process's peak resident set size (``ru_maxrss``) over the iteration.
  Each (implementation, mode) runs in a fresh subprocess so that peaks do not mix.

Results print as a table and are saved as JSON (``--out``). Example (the README figures)::

    python tools/analysis_tools/benchmark_backbone.py --arch s --classifier --size 224 224 \\
        --batch 16 --modes infer train
    python tools/analysis_tools/benchmark_backbone.py --arch t --size 800 1216 --batch 1 \\
        --modes train
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='t', help='t, s, b or l')
    parser.add_argument('--classifier', action='store_true',
                        help='the ImageNet classifier (backbone + neck + head) instead of the '
                        'dense backbone')
    parser.add_argument('--size', type=int, nargs=2, default=[224, 224], metavar=('H', 'W'))
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--impls', nargs='+', default=['reference', 'auto'],
                        help='attention implementations to compare (the first is the baseline)')
    parser.add_argument('--modes', nargs='+', default=['infer', 'train'],
                        choices=['infer', 'train'])
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--dtype', default='fp32', choices=['fp32', 'fp16', 'bf16'],
                        help='autocast dtype (fp32: no autocast)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--out', default='benchmark_backbone.json', help='JSON output path')
    parser.add_argument('--child', nargs=2, metavar=('IMPL', 'MODE'), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build_model(args, impl):
    from rmt_mm.models import RMT, RMTClsNeck
    if not args.classifier:
        return RMT(arch=args.arch, attn_impl=impl)
    backbone = RMT(arch=args.arch, out_indices=(3, ), out_norm=False, attn_impl=impl)
    neck = RMTClsNeck(backbone.embed_dims[-1], 1024)

    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.neck = backbone, neck
            self.head = torch.nn.Linear(1024, 1000)

        def forward(self, x):
            return (self.head(self.neck(self.backbone(x))[0]), )

    return Classifier()


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_one(args, impl, mode):
    """Measure one (implementation, mode) in this process."""
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = build_model(args, impl).to(device)
    x = torch.randn(args.batch, 3, *args.size, device=device)
    dtype = {'fp16': torch.float16, 'bf16': torch.bfloat16}.get(args.dtype)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)

    def step():
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            if mode == 'infer':
                with torch.no_grad():
                    outs = model(x)
            else:
                outs = model(x)
                loss = sum(o.float().square().mean() for o in outs)
        if mode == 'train':
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return outs

    model.train(mode == 'train')
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    for _ in range(args.warmup):
        step()
    sync()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = peak_rss_bytes()
    times = []
    for _ in range(args.runs):
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    peak = (torch.cuda.max_memory_allocated() if device.type == 'cuda' else peak_rss_bytes())
    seconds = sorted(times)[len(times) // 2]  # median
    return dict(impl=impl, mode=mode, seconds_per_iter=seconds,
                images_per_second=args.batch / seconds,
                peak_memory_mib=(peak - base) / 2**20 if device.type == 'cuda' else None,
                peak_rss_mib=peak / 2**20 if device.type == 'cpu' else None,
                times=times)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args, *args.child)))
        return
    if args.device == 'cpu':
        # Peak RSS of the whole process: measure an empty run to subtract model + inputs.
        pass
    results = []
    for mode in args.modes:
        for impl in args.impls:
            cmd = [sys.executable, os.path.abspath(__file__), *(argv or sys.argv[1:]),
                   '--child', impl, mode]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                sys.exit(f'benchmark of {impl}/{mode} failed:\n{proc.stderr[-3000:]}')
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    report(args, results)


def report(args, results):
    model = f"RMT-{args.arch.upper()} {'classifier' if args.classifier else 'dense backbone'}"
    print(f'\n{model}, input {args.batch}x3x{args.size[0]}x{args.size[1]}, {args.dtype}, '
          f'{args.device}, median of {args.runs} runs after {args.warmup} warm-up')
    mem_key = 'peak_memory_mib' if args.device != 'cpu' else 'peak_rss_mib'
    mem_name = 'peak alloc MiB' if args.device != 'cpu' else 'peak RSS MiB'
    header = f"| mode | attn_impl | s/iter | img/s | {mem_name} | speed-up | memory ratio |"
    print(header)
    print('|' + '---|' * 7)
    for mode in args.modes:
        rows = [r for r in results if r['mode'] == mode]
        base = rows[0]
        for r in rows:
            r['speedup'] = base['seconds_per_iter'] / r['seconds_per_iter']
            r['memory_ratio'] = r[mem_key] / base[mem_key] if base[mem_key] else None
            print(f"| {mode} | {r['impl']} | {r['seconds_per_iter']:.3f} | "
                  f"{r['images_per_second']:.1f} | {r[mem_key]:.0f} | {r['speedup']:.2f}x | "
                  f"{r['memory_ratio']:.2f} |")
    with open(args.out, 'w') as f:
        json.dump(dict(config=vars(args), results=results), f, indent=2)
    print(f'\nsaved {args.out}')


if __name__ == '__main__':
    main()
