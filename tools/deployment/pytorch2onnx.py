"""Export an RMT classifier, segmentor, detector or backbone to ONNX and check it with onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG [--checkpoint CKPT] [--out model.onnx]
        [--shape H W] [--dynamic] [--image IMG] [--cfg-options ...]
        [--part model|backbone] [--verify-shapes H W [H W ...]]

Classifiers and segmentors (``--part model``) are exported in mmengine's ``tensor`` mode: a
classifier's logits (B, classes), a segmentor's decode-head logits (B, classes, H/4, W/4);
``--part backbone`` exports the RMT feature maps. ``--dynamic`` makes the batch, height and
width dynamic (backbones and classifiers; a segmentor's heads fix their resize sizes at
export, so segmentors are exported per input size). The graph is run with onnxruntime on
random inputs of ``--shape`` (and of every ``--verify-shapes`` size) and compared with
PyTorch; the largest difference is printed and the tool fails above ``--atol``.

Detectors (RetinaNet, Mask R-CNN, Cascade Mask R-CNN) are exported end to end in MMDeploy's
layout, post-processing included (``rmt_mm.deployment.detection``): input ``input``
(1, 3, H, W), preprocessed as the config's data preprocessor does; outputs ``dets``
(1, N, 5), ``labels`` (1, N) and, with masks, ``masks`` (1, N, 28, 28). A JSON file beside the
model holds what ``onnx_demo.py`` needs to run it without torch (resize, normalisation,
padding, classes). ``--image`` checks the graph on a real image against mmdet's own
``inference_detector``: detections matched by IoU, labels, scores and mask IoU, with the
tolerances printed; the tool fails beyond them. A static export (no ``--dynamic``) takes its
size from ``--shape``, else from the image (its size after the config's resize and padding).

The graph computes MaSA's decay masks and rotary tables from the input size, also for static
exports (exported with dynamic axes, then the input's size is fixed), so the file is about
the size of the weights. MaSA's rotation runs in real arithmetic while exporting (ONNX has no
complex tensors); the TorchScript-based exporter is used (``rmt_mm.utils.torch_api.onnx_export``):
torch 2.14's dynamo exporter cannot translate the graph yet.
"""
import argparse
import json
import os
import os.path as osp
import sys
import warnings

import numpy as np
import torch

from rmt_mm.utils import torch_api

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import onnx_demo  # noqa: E402  (the runner's preprocessing and post-processing, torch-free)

# --image check: what "agrees with PyTorch" means for a detector (see compare_detections).
BOX_IOU, SCORE_ATOL, MASK_IOU = 0.98, 0.01, 0.95


def parse_args(argv=None):
    from rmt_mm.apis.cli import add_cfg_options, add_out_argument, add_shape_argument
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights to load (random weights without it)')
    parser.add_argument('--part', choices=['model', 'backbone'], default='model')
    add_shape_argument(parser, help='export input size (default: 224 224 cls, 512 512 seg, '
                       'det: the --image after resize and padding, else 800 1344)')
    parser.add_argument('--dynamic', action='store_true', help='dynamic batch, height, width '
                        '(detectors: dynamic height and width, batch 1)')
    parser.add_argument('--image', help='detectors: check the graph on this image against '
                        'mmdet\'s inference_detector')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='--image: compare the detections scoring at least this')
    add_cfg_options(parser)
    add_out_argument(parser, help='output file (default: work_dirs/onnx/<config>.onnx)')
    parser.add_argument('--verify-shapes', type=int, nargs='+', default=[],
                        help='more H W pairs to check (needs --dynamic)')
    parser.add_argument('--atol', type=float, default=1e-4)
    parser.add_argument('--opset', type=int, default=17)
    return parser.parse_args(argv)


def export(config, out, part='model', shape=None, dynamic=False, checkpoint=None, opset=17,
           cfg_options=None):
    """Export a classifier, segmentor or backbone; returns the wrapped PyTorch module and the
    input size used."""
    from rmt_mm.apis import build_model
    from rmt_mm.deployment import TensorMode
    from rmt_mm.utils.tasks import get_task
    cfg, model = build_model(config, cfg_options, checkpoint=checkpoint)
    task = get_task(cfg)
    if task.name == 'det' and part == 'model':
        raise ValueError(f'{config}: a detector is exported by export_detector (this tool '
                         f'without --part backbone)')
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
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch_api.onnx_export(module, (inputs, ), out, input_names=['input'], output_names=names,
                          dynamic_axes=axes, opset_version=opset)
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


def preprocessing(cfg) -> dict:
    """What the config does to an image before the detector, for onnx_demo.py: the test
    pipeline's Resize and the data preprocessor's colour order, normalisation and padding."""
    from mmdet.utils import get_test_pipeline_cfg
    pipeline = get_test_pipeline_cfg(cfg)  # the pipeline inference_detector runs
    resizes = [step for step in pipeline if step['type'] in ('Resize', 'mmdet.Resize')]
    if len(resizes) != 1 or 'scale' not in resizes[0]:
        raise ValueError(f'the test pipeline has {len(resizes)} Resize steps with a scale; '
                         f'the exported detector needs exactly one (mmdet\'s Resize with '
                         f'scale=(w, h)) to tell onnx_demo.py how to resize: '
                         f'{[step["type"] for step in pipeline]}')
    prep = cfg.model.data_preprocessor
    return dict(scale=list(resizes[0]['scale']), keep_ratio=bool(resizes[0].get('keep_ratio')),
                to_rgb=bool(prep.get('bgr_to_rgb', False)), mean=list(prep.mean),
                std=list(prep.std), pad_size_divisor=int(prep.get('pad_size_divisor', 1)),
                pad_value=float(prep.get('pad_value', 0)))


def detector_meta(cfg, model, module, static_shape, config) -> dict:
    """The JSON written beside an exported detector (onnx_demo.py reads it)."""
    dataset = cfg.test_dataloader.dataset
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes') or \
        dataset.get('metainfo', {}).get('classes') or dataset_classes(dataset)
    rcnn = (cfg.model.get('test_cfg') or {}).get('rcnn') or {}
    return dict(task='det', config=osp.basename(config), input='input',
                outputs=module.output_names, classes=list(classes),
                preprocess=dict(preprocessing(cfg), static_shape=static_shape),
                mask_thr_binary=float(rcnn.get('mask_thr_binary', 0.5)))


def dataset_classes(dataset_cfg) -> list:
    """The class names of a dataset type's own METAINFO (COCO's 80 for mmdet's
    CocoDataset), as inference_detector falls back to; [] when it has none."""
    from mmdet.registry import DATASETS
    while 'dataset' in dataset_cfg:  # wrappers (RepeatDataset, ...)
        dataset_cfg = dataset_cfg['dataset']
    dataset_type = DATASETS.get(dataset_cfg.get('type', ''))
    return list(getattr(dataset_type, 'METAINFO', {}).get('classes', []))


def set_dims(onnx_file: str, dims: dict) -> None:
    """Write the sizes of the graph's inputs and outputs (``{name: [int or str, ...]}``, a
    string names a dynamic axis). A static export gets its fixed input size this way: its
    computation stays written for any size, so nothing is folded into size-specific
    constants."""
    import onnx
    model = onnx.load(onnx_file)
    for value in [*model.graph.input, *model.graph.output]:
        if value.name in dims:
            shape = value.type.tensor_type.shape
            shape.ClearField('dim')
            for size in dims[value.name]:
                dim = shape.dim.add()
                if isinstance(size, str):
                    dim.dim_param = size
                else:
                    dim.dim_value = size
    onnx.save(model, onnx_file)


def export_detector(config, out, shape=None, dynamic=False, checkpoint=None, opset=17,
                    cfg_options=None, image=None):
    """Export a detector end to end and write its JSON; returns (module, meta, input size)."""
    from rmt_mm.apis import build_model
    from rmt_mm.deployment import End2EndDetector
    from rmt_mm.utils.tasks import get_task
    cfg, model = build_model(config, cfg_options, checkpoint=checkpoint)
    module = End2EndDetector(model)
    meta = detector_meta(cfg, model, module, None, config)
    if image is not None:  # traced on the image itself: its detections exercise every step
        inputs = torch.from_numpy(onnx_demo.preprocess(onnx_demo.read_image(image), meta)[0])
    else:
        inputs = torch.randn(1, 3, *get_task(cfg).export_shape)
    shape = tuple(shape or inputs.shape[-2:])
    if tuple(inputs.shape[-2:]) != shape:
        inputs = pad_to(inputs, shape, meta['preprocess']['pad_value'])
    if not dynamic:
        meta['preprocess']['static_shape'] = list(shape)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns at every Python branch on a size; those in the detectors' code
        # are shape checks and head kinds, fixed for a model (the tests export at one size
        # and run at others).
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        # Its advice concerns negative indices; the graph's come from arange, argmax,
        # nonzero and topk, never negative.
        warnings.filterwarnings('ignore', message='Exporting aten::index operator')
        # Dynamic axes also for a static export: with a fixed size the exporter would fold
        # the decay masks and rotary tables into constants (a file ten times the weights).
        torch_api.onnx_export(module, (inputs, ), out, input_names=['input'],
                              output_names=module.output_names, opset_version=opset,
                              dynamic_axes={'input': {2: 'height', 3: 'width'},
                                            **{name: {1: 'num_dets'}
                                               for name in module.output_names}})
    with torch.no_grad():
        outputs = module(inputs)
    dims = {'input': [1, 3, *(('height', 'width') if dynamic else shape)]}
    for name, output in zip(module.output_names, outputs):  # MMDeploy's layouts
        dims[name] = [1, 'num_dets', *output.shape[2:]]
    set_dims(out, dims)
    with open(onnx_demo.meta_path(out), 'w') as f:
        json.dump(meta, f, indent=2)
    return module, meta, shape


def pad_to(inputs, shape, value):
    """A (1, 3, h, w) batch padded at the bottom and right to ``shape``."""
    height, width = shape
    if inputs.shape[2] > height or inputs.shape[3] > width:
        raise ValueError(f'--shape {height} {width} is smaller than the preprocessed image '
                         f'({inputs.shape[2]}x{inputs.shape[3]})')
    return torch.nn.functional.pad(
        inputs, (0, width - inputs.shape[3], 0, height - inputs.shape[2]), value=value)


def cutoff_ties(scores: np.ndarray, max_dets: int | None) -> np.ndarray:
    """(N,) bool: detections tied with the last one of a full list (``max_dets`` of them).

    Which of several equal scores survive a top-k is arbitrary (mmdet's sort and the graph's
    TopK choose differently), so these are not compared: a weak detector scores whole flat
    regions the same."""
    if not max_dets or len(scores) < max_dets:
        return np.zeros(len(scores), bool)
    return np.isclose(scores, scores.min(), rtol=1e-6, atol=0)


def compare_detections(reference: dict, exported: dict, score_thr: float,
                       max_dets: int | None = None) -> dict:
    """Match the detections scoring at least ``score_thr`` of one side to those of the other
    (same label, best IoU, at least 0.5), in both directions.

    Returns the number compared, the unmatched ones of each side, the number left out as
    ties at the ``max_dets`` cut-off (:func:`cutoff_ties`), and over the matched pairs the
    lowest box IoU, the largest score difference and the lowest mask IoU (None without masks).
    A detection just above the threshold on one side may be just below it on the other: it is
    matched against every detection of the other side.
    """
    from mmdet.evaluation.functional import bbox_overlaps

    def matches(src, dst):
        ties = cutoff_ties(src['scores'], max_dets)
        chosen = np.flatnonzero((src['scores'] >= score_thr) & ~ties)
        ious = bbox_overlaps(src['boxes'][chosen], dst['boxes'])
        ious[src['labels'][chosen][:, None] != dst['labels'][None]] = 0
        pairs, used = [], set()
        for row in np.argsort(-src['scores'][chosen], kind='stable'):
            order = [j for j in np.argsort(-ious[row], kind='stable') if j not in used]
            if order and ious[row, order[0]] >= 0.5:
                used.add(order[0])
                pairs.append((chosen[row], order[0], float(ious[row, order[0]])))
        return len(chosen), pairs, int((ties & (src['scores'] >= score_thr)).sum())

    compared, pairs, ties = matches(reference, exported)
    back_count, back_pairs, _ = matches(exported, reference)
    stats = dict(compared=compared, unmatched_reference=compared - len(pairs),
                 unmatched_exported=back_count - len(back_pairs), ties=ties,
                 box_iou=min((iou for *_, iou in pairs), default=1.0),
                 score_diff=max((abs(float(reference['scores'][i] - exported['scores'][j]))
                                 for i, j, _ in pairs), default=0.0),
                 mask_iou=None)
    if 'masks' in reference and 'masks' in exported:
        def mask_iou(a, b):
            union = np.logical_or(a, b).sum()
            return float(np.logical_and(a, b).sum() / union) if union else 1.0
        stats['mask_iou'] = min((mask_iou(reference['masks'][i], exported['masks'][j])
                                 for i, j, _ in pairs), default=1.0)
    return stats


def pytorch_detections(config, checkpoint, image, cfg_options=None) -> dict:
    """mmdet's inference_detector on the image, as numpy arrays in image pixels."""
    from rmt_mm.apis.runner import load_config
    return predict_detections(load_config(config, cfg_options), checkpoint, image)


def predict_detections(cfg, checkpoint, image) -> dict:
    """:func:`pytorch_detections` of a loaded config."""
    from rmt_mm.utils.tasks import get_task
    _, sample = get_task(cfg).predict(cfg, checkpoint, image, 'cpu')
    pred = sample.pred_instances
    result = dict(boxes=pred.bboxes.numpy(), scores=pred.scores.numpy(),
                  labels=pred.labels.numpy())
    if 'masks' in pred:
        result['masks'] = pred.masks.numpy().astype(bool)
    return result


def check_detector(onnx_file, meta, config, checkpoint, image, score_thr,
                   cfg_options=None) -> dict:
    """Compare the exported graph on ``image`` with mmdet's inference_detector; prints the
    result and raises SystemExit beyond the tolerances."""
    import onnxruntime as ort

    from rmt_mm.apis.runner import load_config
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    exported = onnx_demo.infer(session, onnx_demo.read_image(image), meta)
    cfg = load_config(config, cfg_options)
    reference = predict_detections(cfg, checkpoint, image)
    test_cfg = cfg.model.test_cfg
    max_dets = (test_cfg.get('rcnn') or test_cfg).get('max_per_img')
    stats = compare_detections(reference, exported, score_thr, max_dets)
    ties = f', {stats["ties"]} tied at the top-{max_dets} cut-off left out' \
        if stats['ties'] else ''
    mask = '' if stats['mask_iou'] is None else \
        f', lowest mask IoU {stats["mask_iou"]:.4f} (tolerance >= {MASK_IOU})'
    print(f'  onnxruntime vs inference_detector on {image}: {stats["compared"]} detections '
          f'with score >= {score_thr} ({len(reference["scores"])} in all'
          f'{ties}), {stats["unmatched_reference"]} unmatched, {stats["unmatched_exported"]} '
          f'extra; '
          f'lowest box IoU {stats["box_iou"]:.4f} (tolerance >= {BOX_IOU}), largest score '
          f'difference {stats["score_diff"]:.2e} (tolerance <= {SCORE_ATOL}){mask}')
    failed = [name for name, bad in (
        ('unmatched detections', stats['unmatched_reference'] or stats['unmatched_exported']),
        ('box IoU', stats['box_iou'] < BOX_IOU),
        ('score difference', stats['score_diff'] > SCORE_ATOL),
        ('mask IoU', stats['mask_iou'] is not None and stats['mask_iou'] < MASK_IOU)) if bad]
    if failed:
        raise SystemExit(f'error: the exported detector disagrees with PyTorch on {image}: '
                         f'{", ".join(failed)} beyond tolerance')
    return stats


def default_out(config, part):
    return osp.join('work_dirs', 'onnx', osp.splitext(osp.basename(config))[0]
                    + ('_backbone' if part == 'backbone' else '') + '.onnx')


def main(argv=None):
    args = parse_args(argv)
    if args.verify_shapes and (len(args.verify_shapes) % 2 or not args.dynamic):
        raise SystemExit('--verify-shapes takes H W pairs and needs --dynamic')
    from rmt_mm.apis.runner import load_config
    from rmt_mm.utils.tasks import get_task
    out = args.out or default_out(args.config, args.part)
    if args.part == 'model' and get_task(load_config(args.config, args.cfg_options)).name \
            == 'det':
        module, meta, shape = export_detector(
            args.config, out, args.shape, args.dynamic, args.checkpoint, args.opset,
            args.cfg_options, args.image)
        size = f'{os.path.getsize(out) / 2**20:.1f} MiB'
        print(f'exported {args.config} end to end at {shape[0]}x{shape[1]}'
              f'{" (dynamic H/W)" if args.dynamic else ""} to {out} ({size}; outputs '
              f'{", ".join(module.output_names)}), preprocessing in '
              f'{onnx_demo.meta_path(out)}')
        if args.image and args.checkpoint:
            check_detector(out, meta, args.config, args.checkpoint, args.image,
                           args.score_thr, args.cfg_options)
        elif args.image:
            print('  traced on --image; not compared with PyTorch: that needs --checkpoint '
                  '(random heads score most boxes alike, so which of them survive NMS and '
                  'the top-k is arbitrary on both sides)')
        return
    if args.image:
        raise SystemExit('--image checks detectors; classifiers, segmentors and backbones are '
                         'checked on random inputs (--shape, --verify-shapes)')
    module, shape = export(args.config, out, args.part, args.shape, args.dynamic,
                           args.checkpoint, args.opset, args.cfg_options)
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
