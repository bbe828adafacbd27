"""Latency of an exported detector in onnxruntime against the PyTorch model, image to result.

    python tools/deployment/benchmark_onnx.py CONFIG MODEL.onnx IMAGE [--checkpoint CKPT]
        [--runs 5] [--warmup 1] [--cfg-options ...] [--out latency.json]

Both sides run one image end to end, interleaved, on the CPU: PyTorch is mmdet's
``inference_detector`` (test pipeline, data preprocessor, network, post-processing, masks
pasted at image size); onnxruntime is ``onnx_demo.py``'s ``infer`` (OpenCV preprocessing,
the graph, boxes rescaled, masks pasted). Prints the median milliseconds of each and the
ratio; the same ``--cfg-options`` as the export (the graph holds the export's test_cfg).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import onnx_demo  # noqa: E402


def parse_args(argv=None):
    from rmt_mm.apis.cli import add_cfg_options, add_out_argument
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('model', help='the exported .onnx file (its .json beside it)')
    parser.add_argument('image')
    parser.add_argument('--checkpoint', help='weights of the PyTorch side (default: random)')
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    add_cfg_options(parser)
    add_out_argument(parser, help='write the result to this JSON file')
    return parser.parse_args(argv)


def main(argv=None):
    import cv2
    import onnxruntime as ort
    import torch
    from mmdet.apis import inference_detector, init_detector

    from rmt_mm.apis.runner import load_config
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.model.backbone.init_cfg = None  # nothing is downloaded; random weights time the same
    model = init_detector(cfg, args.checkpoint, device='cpu')
    session = ort.InferenceSession(args.model, providers=['CPUExecutionProvider'])
    meta = onnx_demo.load_meta(args.model)
    image = cv2.imread(args.image)
    steps = dict(pytorch=lambda: inference_detector(model, image),
                 onnxruntime=lambda: onnx_demo.infer(session, image, meta))
    times = {name: [] for name in steps}
    for run in range(args.warmup + args.runs):
        for name, step in steps.items():  # interleaved: both see the same machine state
            start = time.perf_counter()
            with torch.no_grad():
                result = step()
            if run >= args.warmup:
                times[name].append(time.perf_counter() - start)
    count = len(result['scores'])
    median = {name: 1000 * statistics.median(values) for name, values in times.items()}
    height, width = image.shape[:2]
    print(f'{osp.basename(args.config)} on a {height}x{width} image ({count} detections), '
          f'median of {args.runs} runs, {torch.get_num_threads()} torch threads:')
    for name, value in median.items():
        print(f'  {name:12s} {value:8.0f} ms  (min {1000 * min(times[name]):.0f}, '
              f'max {1000 * max(times[name]):.0f})')
    print(f'  onnxruntime / pytorch latency: {median["onnxruntime"] / median["pytorch"]:.2f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(config=osp.basename(args.config), image_hw=[height, width],
                           detections=count, runs=args.runs, median_ms=median,
                           times_ms={k: [1000 * t for t in v] for k, v in times.items()}),
                      f, indent=2)


if __name__ == '__main__':
    main()
