"""Export an RMT backbone, classifier or segmentor to ONNX and check it with onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG [--checkpoint CKPT] [--part model|backbone]
        [--shape H W] [--dynamic] [--out model.onnx] [--verify-shapes H W [H W ...]]

``--part model`` exports what the config builds, in mmengine's ``tensor`` mode: a classifier's
logits (B, classes), a segmentor's decode-head logits (B, classes, H/4, W/4); ``--part
backbone`` the RMT feature maps. ``--dynamic`` makes the batch, height and width dynamic
(backbones and classifiers; a segmentor's heads fix their resize sizes at export, so
segmentors are exported per input size). The
exported graph is run with onnxruntime on random inputs of ``--shape`` (and of every
``--verify-shapes`` size) and compared with PyTorch; the largest difference is printed and the
tool fails above ``--atol``.

MaSA's rotary rotation runs in real arithmetic while exporting (ONNX has no complex tensors);
the TorchScript-based exporter is used (``dynamo=False``): torch 2.14's dynamo exporter cannot
translate the graph yet.
"""
import argparse
import os.path as osp

import torch


def parse_args(argv=None):
    from rmt_mm.apis.cli import add_out_argument, add_shape_argument
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights to load (random weights without it)')
    parser.add_argument('--part', choices=['model', 'backbone'], default='model')
    add_shape_argument(parser, help='export input size (default: 224 224 cls, 512 512 seg)')
    parser.add_argument('--dynamic', action='store_true', help='dynamic batch, height, width')
    add_out_argument(parser, help='output file (default: work_dirs/onnx/<config>.onnx)')
    parser.add_argument('--verify-shapes', type=int, nargs='+', default=[],
                        help='more H W pairs to check (needs --dynamic)')
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument('--opset', type=int, default=17)
    return parser.parse_args(argv)


class TensorMode(torch.nn.Module):
    """A model in mmengine's ``tensor`` mode, or its backbone: images -> tensors."""

    def __init__(self, model, part):
        super().__init__()
        self.model, self.part = model, part

    def forward(self, inputs):
        if self.part == 'backbone':
            return self.model.backbone(inputs)
        return self.model(inputs, None, mode='tensor')


def export(config, out, part='model', shape=None, dynamic=False, checkpoint=None, opset=17):
    """Export; returns the wrapped PyTorch module and the input size used."""
    from rmt_mm.apis import build_model
    from rmt_mm.utils.tasks import get_task
    cfg, model = build_model(config, checkpoint=checkpoint)
    task = get_task(cfg)
    if task.export_shape is None:
        raise ValueError(f'{config}: detectors are not exported by this tool (their outputs '
                         f'need mmdet\'s post-processing); export the backbone of a '
                         f'classifier or segmentor config, or use MMDeploy')
    if dynamic and part == 'model' and task.name == 'seg':
        raise ValueError(
            f'{config}: a segmentor cannot be exported with dynamic H/W: mmseg\'s decode heads '
            f'compute their resize sizes in Python (int() of shapes), which the exporter records '
            f'as constants, so the graph would only be right at its export size. Export it per '
            f'input size (--shape), or export --part backbone with --dynamic')
    shape = tuple(shape or task.export_shape)
    module = TensorMode(model, part).eval()
    inputs = torch.randn(1, 3, *shape)
    with torch.no_grad():
        outputs = module(inputs)
    num_outputs = len(outputs) if isinstance(outputs, (tuple, list)) else 1
    names = [f'output{i}' for i in range(num_outputs)] if num_outputs > 1 else ['output']
    axes = None
    if dynamic:
        axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({name: {0: 'batch'} for name in names})
    import os
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.onnx.export(module, (inputs, ), out, input_names=['input'], output_names=names,
                      dynamic_axes=axes, opset_version=opset, dynamo=False)
    return module, shape


def max_difference(module, onnx_file, shape, batch=1) -> float:
    """Largest absolute difference between onnxruntime and PyTorch on a random input."""
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    inputs = torch.randn(batch, 3, *shape)
    with torch.no_grad():
        expected = module(inputs)
    expected = expected if isinstance(expected, (tuple, list)) else [expected]
    got = session.run(None, {'input': inputs.numpy()})
    return max(float((torch.from_numpy(g) - e).abs().max()) for g, e in zip(got, expected))


def main(argv=None):
    args = parse_args(argv)
    if args.verify_shapes and (len(args.verify_shapes) % 2 or not args.dynamic):
        raise SystemExit('--verify-shapes takes H W pairs and needs --dynamic')
    out = args.out or osp.join('work_dirs', 'onnx', osp.splitext(osp.basename(args.config))[0]
                               + ('_backbone' if args.part == 'backbone' else '') + '.onnx')
    module, shape = export(args.config, out, args.part, args.shape, args.dynamic,
                           args.checkpoint, args.opset)
    print(f'exported {args.part} of {args.config} at {shape[0]}x{shape[1]}'
          f'{" (dynamic batch/H/W)" if args.dynamic else ""} to {out}')
    sizes = [shape] + [tuple(args.verify_shapes[i:i + 2])
                       for i in range(0, len(args.verify_shapes), 2)]
    worst = 0.0
    for size in sizes:
        diff = max_difference(module, out, size)
        worst = max(worst, diff)
        print(f'  onnxruntime vs PyTorch at {size[0]}x{size[1]}: max |difference| {diff:.2e}')
    if worst > args.atol:
        raise SystemExit(f'error: onnxruntime differs from PyTorch by {worst:.2e} > --atol '
                         f'{args.atol}')


if __name__ == '__main__':
    main()
