"""Inference speed of a whole model (classifier, detector or segmentor), mmdet/mmseg style.

    python tools/analysis_tools/benchmark.py CONFIG [--checkpoint CKPT] [--shape H W]
        [--batch 1] [--warmup 2] [--runs 10] [--device cpu|cuda] [--out benchmark.json]

Times ``model.test_step`` on a random image of the given size: data preprocessing, the
network and the task's post-processing (NMS, mask pasting, resizing of the class map), as
a user's inference would run. Default sizes as in get_flops.py (224x224, 800x1280,
512x2048). Prints images per second and milliseconds per image; --out saves them as JSON
(tools/make_tables.py picks up ``benchmark.json`` in a work dir).
"""
import argparse
import json
import os.path as osp
import statistics
import time

import torch


def parse_args(argv=None):
    from rmt_mm.apis.cli import (
        add_cfg_options,
        add_device_argument,
        add_out_argument,
        add_shape_argument,
        resolve_device,
    )
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights to load (default: random init)')
    add_shape_argument(parser, help="input height and width (default: the task's)")
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--runs', type=int, default=10)
    add_device_argument(parser)
    add_cfg_options(parser)
    add_out_argument(parser, help='write the result to this JSON file')
    args = parser.parse_args(argv)
    args.device = resolve_device(args.device)
    return args


def benchmark(args) -> dict:
    from rmt_mm.apis import build_model
    from rmt_mm.utils.tasks import get_task

    cfg, model = build_model(args.config, args.cfg_options, checkpoint=args.checkpoint)
    task = get_task(cfg)
    model = model.to(args.device).eval()
    height, width = args.shape or task.default_shape
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
    samples = task.dummy_data_samples(height, width)
    data = dict(inputs=[image] * args.batch)
    if samples is not None:
        data['data_samples'] = [samples[0].clone() for _ in range(args.batch)]

    def run():
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.no_grad():
            model.test_step(data)
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for _ in range(args.warmup):
        run()
    times = [run() for _ in range(args.runs)]
    median = statistics.median(times)
    return dict(config=args.config, shape=[height, width], batch=args.batch,
                device=args.device, runs=args.runs, seconds_per_batch=median,
                ms_per_image=1000 * median / args.batch, fps=args.batch / median)


def main(argv=None):
    args = parse_args(argv)
    result = benchmark(args)
    print(f"{osp.basename(args.config)} on {result['device']}, {args.batch}x3x"
          f"{result['shape'][0]}x{result['shape'][1]}, median of {args.runs} runs: "
          f"{result['fps']:.2f} img/s, {result['ms_per_image']:.1f} ms/img")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
