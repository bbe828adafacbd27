"""Correctness and the dense training step of every MaSA implementation on one GPU.

Run by ``tools/analysis_tools/gpu_check.sh`` (which also times the classifier with
``benchmark_backbone.py``); needs torch, mmengine and mmcv-lite only.

1. Equality: each ``attn_impl`` against ``'reference'`` on the device, for MaSA in both forms
   at odd sizes and for the RMT-T backbone at 2x3x224x224 and 2x3x200x312: fp32 (TF32 off)
   forward, input gradient and parameter gradients (relative to the model's largest) to
   ``--atol``; under fp16 and bf16
   autocast the outputs and gradients must be finite.
2. The RMT-T dense backbone, 1x3x800x1216, one training step (forward, backward, SGD) per
   implementation: seconds (median of ``--runs`` after one warm-up) and peak memory.

Prints Markdown tables and writes ``gpu_check.json`` to ``--output-dir``; exits non-zero when an
equality check fails (after running all of them). ``--device cpu --small`` is a dry run of
the script itself on tiny sizes (fp32 only; 'flex' is inference-only there and skipped).
"""
import argparse
import json
import os
import os.path as osp
import sys

import torch

from rmt_mm.apis.timing import median_seconds, model_step
from rmt_mm.models.backbones import RMT
from rmt_mm.models.layers.masa import MaSA, RelPos2d

IMPLS = ('sdpa', 'query_blocked', 'auto', 'flex')
TINY = dict(embed_dims=[32, 32, 64, 64], depths=[1, 1, 1, 1], num_heads=[2, 2, 4, 4],
            init_values=[2] * 4, heads_ranges=[4] * 4, mlp_ratios=[2] * 4,
            chunkwise_recurrents=[True, True, False, False], layerscales=[False] * 4)


def parse_args(argv=None):
    from rmt_mm.apis.cli import add_device_argument, add_output_dir_argument, default_output
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_dir_argument(parser, default_output('gpu_check'))
    add_device_argument(parser, default='cuda')
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--small', action='store_true',
                        help='tiny sizes and a tiny arch (a dry run of the script)')
    return parser.parse_args(argv)


def max_error(a, b):
    return (a.float() - b.float()).abs().max().item()


def grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()
            if p.grad is not None}


def run_pair(ref, fast, inputs, dtype, device):
    """Forward + backward of both models on the same input; the errors of fast vs ref."""
    results = []
    for model in (ref, fast):
        model.zero_grad(set_to_none=True)
        x = inputs.clone().requires_grad_()
        with torch.autocast(device, dtype=dtype or torch.float32, enabled=dtype is not None):
            out = model(x)
        outs = out if isinstance(out, tuple) else (out, )
        torch.manual_seed(1)
        seeds = [torch.randn_like(o, dtype=torch.float32) for o in outs]
        sum((o.float() * s).sum() for o, s in zip(outs, seeds)).backward()
        results.append((outs, x.grad, grads(model)))
    (outs_r, gx_r, g_r), (outs_f, gx_f, g_f) = results
    finite = all(torch.isfinite(t).all().item() for t in (*outs_f, gx_f, *g_f.values()))
    return dict(
        finite=finite,
        out=max(max_error(a, b) for a, b in zip(outs_f, outs_r)),
        input_grad=max_error(gx_f, gx_r),
        # Relative to the largest gradient of the model: conv biases ahead of a training-mode
        # BatchNorm have a true gradient of zero and hold rounding noise only.
        param_grad=max(max_error(g_f[n], g_r[n]) for n in g_r) /
        max(g.abs().max().item() for g in g_r.values()))


def equality_checks(args):
    device = args.device
    dtypes = {'fp32': None}
    if device == 'cuda':
        dtypes.update(fp16=torch.float16, bf16=torch.bfloat16)
    impls = [i for i in IMPLS if device == 'cuda' or i != 'flex']
    rows, failures = [], []
    cases = []
    for decomposed in (True, False):
        for size in ([(7, 11), (13, 1)] if args.small else [(7, 11), (28, 28), (25, 38)]):
            cases.append((f"MaSA {'decomposed' if decomposed else 'full'} {size[0]}x{size[1]}",
                          lambda impl, d=decomposed: _masa(d, impl, device),
                          lambda s=size: torch.randn(2, *s, 64, device=device)))
    sizes = [(64, 96)] if args.small else [(224, 224), (200, 312)]
    for size in sizes:
        cases.append((f"RMT-{'tiny' if args.small else 'T'} 2x3x{size[0]}x{size[1]}",
                      lambda impl: _backbone(args, impl),
                      lambda s=size: torch.randn(2, 3, *s, device=device)))
    for name, build, make_input in cases:
        for impl in impls:
            for dtype_name, dtype in dtypes.items():
                torch.manual_seed(0)
                ref, fast = build('reference'), build(impl)
                fast.load_state_dict(ref.state_dict())
                torch.manual_seed(0)
                errors = run_pair(ref, fast, make_input(), dtype, device)
                ok = errors['finite'] and (dtype is not None or max(
                    errors['out'], errors['input_grad'], errors['param_grad']) <= args.atol)
                rows.append(dict(case=name, impl=impl, dtype=dtype_name, ok=ok, **errors))
                if not ok:
                    failures.append(f'{name} {impl} {dtype_name}: {errors}')
    print('\n## Equality with reference (fp32: max abs error of outputs and input grads, max '
          'error of parameter grads relative to the largest; fp16/bf16: finite)\n')
    print('| case | attn_impl | dtype | output | input grad | param grad | finite | ok |')
    print('|---|---|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['case']} | {r['impl']} | {r['dtype']} | {r['out']:.1e} | "
              f"{r['input_grad']:.1e} | {r['param_grad']:.1e} | {r['finite']} | "
              f"{'yes' if r['ok'] else 'NO'} |")
    return rows, failures


def _masa(decomposed, impl, device):
    relpos = RelPos2d(64, 4, 2, 4).to(device)
    masa = MaSA(64, 4, decomposed, attn_impl=impl, chunk_size=37).to(device)
    return _WithRelPos(masa, relpos)


class _WithRelPos(torch.nn.Module):
    def __init__(self, masa, relpos):
        super().__init__()
        self.masa, self.relpos = masa, relpos

    def forward(self, x):
        return self.masa(x, self.relpos)


def _backbone(args, impl):
    return RMT(arch=TINY if args.small else 't', attn_impl=impl,
               drop_path_rate=0.).to(args.device).train()


def dense_step(args):
    device = args.device
    size = (96, 160) if args.small else (800, 1216)
    impls = ['reference'] + [i for i in IMPLS if device == 'cuda' or i != 'flex']
    x = torch.randn(1, 3, *size, device=device)
    rows = []
    for impl in impls:
        if device == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        torch.manual_seed(0)
        try:
            seconds = median_seconds(model_step(_backbone(args, impl), x, train=True), args.runs)
        except torch.OutOfMemoryError:
            rows.append(dict(impl=impl, seconds=None, peak_mib=None, note='out of memory'))
            continue
        peak = ((torch.cuda.max_memory_allocated() - base) / 2**20 if device == 'cuda'
                else None)
        rows.append(dict(impl=impl, seconds=seconds, peak_mib=peak))
    print(f'\n## RMT-T dense backbone, 1x3x{size[0]}x{size[1]}, training step (fp32)\n')
    print('| attn_impl | s/iter | peak MiB | speed-up vs reference |')
    print('|---|---|---|---|')
    base_s = rows[0]['seconds']
    for r in rows:
        if r['seconds'] is None:
            print(f"| {r['impl']} | {r['note']} | - | - |")
            continue
        peak = '-' if r['peak_mib'] is None else f"{r['peak_mib']:.0f}"
        speedup = f'{base_s / r["seconds"]:.2f}x' if base_s else '-'
        print(f"| {r['impl']} | {r['seconds']:.3f} | {peak} | {speedup} |")
    return rows


def main(argv=None):
    args = parse_args(argv)
    if args.device == 'cuda':
        if not torch.cuda.is_available():
            sys.exit('gpu_check: no CUDA device (use --device cpu --small for a dry run)')
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 for the equality
        torch.backends.cudnn.allow_tf32 = False
        device_name = torch.cuda.get_device_name()
    else:
        device_name = 'cpu'
    print(f'# gpu_check: {device_name}, torch {torch.__version__}')
    os.makedirs(args.output_dir, exist_ok=True)
    equality, failures = equality_checks(args)
    dense = dense_step(args)
    out = osp.join(args.output_dir, 'gpu_check.json')
    with open(out, 'w') as f:
        json.dump(dict(device=device_name, torch=torch.__version__, equality=equality,
                       dense_step=dense, failures=failures), f, indent=2)
    print(f'\nsaved {out}')
    if failures:
        sys.exit('gpu_check: equality failed for\n  ' + '\n  '.join(failures))


if __name__ == '__main__':
    main()
