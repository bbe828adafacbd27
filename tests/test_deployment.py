"""ONNX export of the RMT backbone, the classifier, the segmentor and the detectors (end to end,
with the torch-free runner), run by onnxruntime."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from helpers import REPO, load_tool, run_python

CLS = osp.join(REPO, 'configs', 'cls', 'rmt_t_in1k.py')
SEG = osp.join(REPO, 'configs', 'seg', 'fpn_rmt_t_80k_ade20k_512x512.py')


def deployment():
    return load_tool('tools/deployment/pytorch2onnx.py')


@pytest.mark.slow
@pytest.mark.parametrize('config, part, shapes, dynamic', [
    (CLS, 'backbone', [(224, 224), (160, 192)], True),
    (CLS, 'model', [(224, 224), (96, 128)], True),
    (SEG, 'model', [(128, 160)], False),
    (SEG, 'model', [(96, 96)], False),  # a segmentor is exported per size
])
def test_export_matches_onnxruntime(config, part, shapes, dynamic, tmp_path):
    tool = deployment()
    out = str(tmp_path / 'model.onnx')
    module, shape = tool.export(config, out, part, shapes[0], dynamic)
    probe = torch.randn(1, 3, *shapes[-1])
    with torch.no_grad():
        before = module(probe)
    for size in shapes:
        assert tool.max_difference(module, out, size) < 1e-4, size
    with torch.no_grad():  # exporting leaves the eager model (and its caches) as they were
        after = module(probe)
    for a, b in zip(before if isinstance(before, tuple) else [before],
                    after if isinstance(after, tuple) else [after]):
        assert torch.equal(a, b)


def test_rotation_in_real_arithmetic_equals_the_complex_one():
    from rmt_mm.models.layers.masa import RelPos2d, rotate_complex, rotate_pairs
    relpos = RelPos2d(64, 4, 2, 4)
    x = torch.randn(2, 5, 7, 4, 16)
    sin, cos = (t[..., ::2].unsqueeze(2) for t in relpos.rotary(5, 7))
    torch.testing.assert_close(rotate_pairs(x, cos, sin),
                               rotate_complex(x, relpos.phasor(5, 7).unsqueeze(2)))


def test_dynamic_segmentor_export_is_refused_with_the_reason(tmp_path):
    run = run_python('tools/deployment/pytorch2onnx.py', SEG, '--dynamic', '--out',
                     str(tmp_path / 'seg.onnx'), check=False)
    assert run.returncode != 0
    assert 'cannot be exported with dynamic H/W' in run.stderr
    assert '--part backbone' in run.stderr


# ---------------------------------------------------------------- detectors, end to end
DET = osp.join(REPO, 'configs', 'det')


def runner():
    return load_tool('tools/deployment/onnx_demo.py')


def photo(tmp_path, name='coins'):
    """A scikit-image sample photo as a BGR file (coins: round objects the generated shapes'
    'disk' class finds)."""
    import cv2
    import skimage.data
    image = getattr(skimage.data, name)()
    image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR)
    path = str(tmp_path / f'{name}.png')
    cv2.imwrite(path, image)
    return path


def test_runner_preprocessing_is_the_config_pipeline_and_data_preprocessor(tmp_path):
    """onnx_demo.py's OpenCV resize, normalisation and padding give the tensor mmdet's test
    pipeline and DetDataPreprocessor give (inference_detector's input)."""
    from mmdet.utils import get_test_pipeline_cfg
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(osp.join(DET, 'mask_rcnn_rmt_t_fpn_1x_coco.py'))
    init_default_scope('mmdet')
    image = photo(tmp_path)
    packed = Compose(get_test_pipeline_cfg(cfg))(dict(img_path=image, img_id=0))
    expected = MODELS.build(cfg.model.data_preprocessor)(
        dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]))['inputs']
    meta = dict(preprocess=dict(deployment().preprocessing(cfg), static_shape=None))
    import cv2
    got, scale_factor = runner().preprocess(cv2.imread(image), meta)
    assert got.shape == tuple(expected.shape) == (1, 3, 800, 1024)  # 303x384 -> 800x1014
    torch.testing.assert_close(torch.from_numpy(got), expected, atol=1e-5, rtol=0)
    assert scale_factor == pytest.approx(packed['data_samples'].scale_factor)
    # the JSON's class names when the config names none: the dataset type's own (COCO's 80)
    classes = deployment().dataset_classes(cfg.test_dataloader.dataset)
    assert len(classes) == 80 and classes[:2] == ['person', 'bicycle']


def test_runner_pastes_masks_as_mmdet_does():
    """Mask probabilities pasted into fractional boxes, partly outside the image, equal
    mmdet's _do_paste_mask (the CPU path: the box and one pixel around it)."""
    from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
    generator = torch.Generator().manual_seed(0)
    probs = torch.rand(6, 28, 28, generator=generator)
    boxes = torch.tensor([[10.3, 5.7, 60.2, 40.9], [0.0, 0.0, 99.0, 79.0], [-8.5, 30.2, 20.1, 95.0],
                          [70.6, 60.4, 120.0, 90.0], [40.0, 20.0, 41.5, 22.2],
                          [33.3, 11.1, 66.6, 77.7]])
    height, width = 80, 100
    for prob, box in zip(probs, boxes):
        expected, (rows, cols) = _do_paste_mask(prob[None, None], box[None], height, width,
                                                skip_empty=True)
        region, (top, left) = runner().paste_region(prob.numpy(), box.numpy(), height, width)
        assert (top, left) == (rows.start, cols.start)
        torch.testing.assert_close(torch.from_numpy(region).float(), expected[0],
                                   atol=1e-5, rtol=0)
    masks = runner().paste_masks(probs.numpy(), boxes.numpy(), height, width, 0.5)
    assert masks.shape == (6, height, width) and masks.any(axis=(1, 2)).all()


def test_comparison_finds_what_differs():
    """The --image check: a moved box, a changed score, a lost detection or a changed label are
    each caught; detections below the threshold on both sides are not compared."""
    tool = deployment()
    boxes = np.array([[10, 10, 50, 50], [60, 10, 90, 40], [5, 60, 40, 95], [0, 0, 5, 5]],
                     np.float32)
    reference = dict(boxes=boxes, scores=np.array([0.9, 0.8, 0.6, 0.1], np.float32),
                     labels=np.array([0, 1, 2, 0]))

    def changed(**kwargs):
        result = {k: v.copy() for k, v in reference.items()}
        for key, (index, value) in kwargs.items():
            result[key][index] = value
        return result

    same = tool.compare_detections(reference, changed(), 0.3)
    assert same == dict(compared=3, unmatched_reference=0, unmatched_exported=0, ties=0,
                        box_iou=1.0, score_diff=0.0, mask_iou=None)
    moved = tool.compare_detections(reference, changed(boxes=(0, [12, 10, 52, 50])), 0.3)
    assert moved['box_iou'] == pytest.approx(38 * 40 / (2 * 1600 - 38 * 40))
    assert tool.compare_detections(reference, changed(scores=(1, 0.7)), 0.3)['score_diff'] \
        == pytest.approx(0.1)
    relabelled = tool.compare_detections(reference, changed(labels=(2, 0)), 0.3)
    assert relabelled['unmatched_reference'] == relabelled['unmatched_exported'] == 1
    lost = {k: v[1:] for k, v in reference.items()}
    assert tool.compare_detections(reference, lost, 0.3)['unmatched_reference'] == 1
    # just below the threshold on one side: still matched, the score difference shows it
    assert tool.compare_detections(reference, changed(scores=(2, 0.29)), 0.3)['score_diff'] \
        == pytest.approx(0.31)
    below = tool.compare_detections(reference, changed(boxes=(3, [50, 50, 60, 60])), 0.3)
    assert below['unmatched_reference'] == below['unmatched_exported'] == 0
    # a full list (max_dets) ending in equal scores: which of them survive is arbitrary
    tied = changed(scores=(2, 0.1), boxes=(2, [70, 70, 80, 80]))
    assert tool.compare_detections(changed(scores=(2, 0.1)), tied, 0.05)[
        'unmatched_reference'] == 1
    assert tool.compare_detections(changed(scores=(2, 0.1)), tied, 0.05, max_dets=4) == dict(
        compared=2, unmatched_reference=0, unmatched_exported=0, ties=2, box_iou=1.0,
        score_diff=0.0, mask_iou=None)


def test_unsupported_detectors_are_refused_with_what_is_supported(tmp_path):
    from mmengine.config import Config

    from rmt_mm.apis import build_model
    from rmt_mm.deployment import End2EndDetector

    from task_configs import shrink_model
    cfg = Config.fromfile(osp.join(DET, 'dino_4scale_rmt_s_12e_coco.py'))
    shrink_model(cfg)
    path = str(tmp_path / 'dino_tiny.py')
    cfg.dump(path)
    _, model = build_model(path)
    with pytest.raises(TypeError, match='DINO .*not exported; supported: RetinaNet'):
        End2EndDetector(model)


@pytest.fixture(scope='module')
def detectors(tmp_path_factory, coco_root):
    """Tiny RetinaNet, Mask R-CNN and Cascade Mask R-CNN (the RMT configs with the tiny RMT)
    trained on the generated shapes until they find disks: {name: (config, checkpoint)}.
    The Mask R-CNN trains first; the others start from its backbone, neck and RPN. Their
    score_thr is 0 (as in the task suites): every image gives max_per_img detections."""
    from helpers import SHAPE_CLASSES
    from task_configs import run_training, tiny_det_config
    base = tmp_path_factory.mktemp('detectors')
    trained = {}
    for name, config, epochs, lr in DETECTORS:
        work_dir = str(base / name)
        cfg = tiny_det_config(osp.join(DET, config + '.py'), coco_root, SHAPE_CLASSES, work_dir,
                              max_epochs=epochs, with_mask='mask' in config)
        cfg.optim_wrapper.optimizer.lr = lr
        cfg.train_cfg.val_interval = epochs + 1  # no evaluation: the export is what is tested
        if trained:
            cfg.load_from = trained['mask_rcnn'][1]
        (base / f'{name}_cfg').mkdir()
        config_path, _ = run_training(cfg, base / f'{name}_cfg', 'ours')
        trained[name] = (config_path, osp.join(work_dir, f'epoch_{epochs}.pth'))
    return trained


# name, config, epochs, learning rate (at 2e-3 RetinaNet's classification tower dies: one
# score everywhere); the test image is resized to the photo's own size (coins: 384x303).
DETECTORS = [('mask_rcnn', 'mask_rcnn_rmt_t_fpn_1x_coco', 12, 2e-3),
             ('retinanet', 'retinanet_rmt_t_fpn_1x_coco', 16, 1e-3),
             ('cascade', 'cascade_mask_rcnn_rmt_s_fpn_ms_3x_coco', 3, 2e-3)]
PHOTO_SCALE = {'test_dataloader.dataset.pipeline.1.scale': (384, 304)}


def graph_layout(path):
    """(opset domains and versions, node domains, {input or output: dims}) of an ONNX file."""
    import onnx
    model = onnx.load(path)
    dims = {value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            for value in [*model.graph.input, *model.graph.output]}
    return ({(o.domain, o.version) for o in model.opset_import},
            {node.domain for node in model.graph.node}, dims)


@pytest.mark.slow
@pytest.mark.parametrize('name, dynamic', [
    ('mask_rcnn', True), ('retinanet', True), ('cascade', False)])
def test_detector_exports_end_to_end_and_agrees_with_inference_detector(
        name, dynamic, detectors, tmp_path):
    import os
    tool = deployment()
    config, checkpoint = detectors[name]
    image, out = photo(tmp_path), str(tmp_path / f'{name}.onnx')
    module, meta, shape = tool.export_detector(config, out, dynamic=dynamic,
                                               checkpoint=checkpoint, cfg_options=PHOTO_SCALE,
                                               image=image)
    assert shape == (320, 384)  # coins (303x384) after the resize, padded to 32
    # Standard operators only, MMDeploy's names and layouts, about the size of the weights
    # (the decay masks and rotary tables are computed in the graph, also when static).
    opsets, domains, dims = graph_layout(out)
    assert opsets == {('', 17)} and domains == {''}
    expected = {'input': [1, 3, 'height', 'width'] if dynamic else [1, 3, 320, 384],
                'dets': [1, 'num_dets', 5], 'labels': [1, 'num_dets']}
    if name != 'retinanet':
        expected['masks'] = [1, 'num_dets', 28, 28]
    assert dims == expected
    weights = sum(p.numel() * p.element_size() for p in module.parameters())
    assert weights < os.path.getsize(out) < 1.02 * weights + 2**20
    with open(runner().meta_path(out)) as f:
        assert json.load(f) == meta
    assert meta['preprocess']['static_shape'] == (None if dynamic else [320, 384])
    assert meta['classes'] == ['disk', 'square', 'triangle']

    # The detections a user would look at: score 0.3 and above, at least the ten best.
    reference = tool.pytorch_detections(config, checkpoint, image, PHOTO_SCALE)['scores']
    threshold = min(0.3, float(np.sort(reference)[-10]))
    stats = tool.check_detector(out, meta, config, checkpoint, image, threshold, PHOTO_SCALE)
    assert stats['compared'] >= 10 and stats['ties'] == 0, stats
    assert stats['unmatched_reference'] == stats['unmatched_exported'] == 0
    assert (stats['mask_iou'] is None) == (name == 'retinanet')
    if dynamic:  # the same graph at another input size (a larger resize of the photo)
        scale = {'test_dataloader.dataset.pipeline.1.scale': (512, 400)}
        larger = dict(meta, preprocess=dict(meta['preprocess'], scale=[512, 400]))
        assert runner().preprocess(cv2_read(image), larger)[0].shape == (1, 3, 416, 512)
        stats = tool.check_detector(out, larger, config, checkpoint, image, threshold, scale)
        assert stats['compared'] >= 5, stats


def cv2_read(path):
    import cv2
    return cv2.imread(path)


@pytest.mark.slow
def test_a_detector_that_finds_nothing_returns_empty_outputs(detectors, tmp_path):
    """Zero detections after the RoI head: the masks path runs on no boxes (N = 0)."""
    import onnxruntime as ort
    tool = deployment()
    config, checkpoint = detectors['mask_rcnn']
    image, out = photo(tmp_path), str(tmp_path / 'none.onnx')
    options = dict(PHOTO_SCALE, **{'model.test_cfg.rcnn.score_thr': 0.9999})
    _, meta, _ = tool.export_detector(config, out, dynamic=True, checkpoint=checkpoint,
                                      cfg_options=options, image=image)
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    result = runner().infer(session, cv2_read(image), meta)
    assert result['boxes'].shape == (0, 4) and result['masks'].shape == (0, 303, 384)
    assert len(tool.pytorch_detections(config, checkpoint, image, options)['scores']) == 0


@pytest.fixture(scope='module')
def torch_free_python(tmp_path_factory):
    """A venv with only onnxruntime, numpy and opencv-python-headless (the runner's needs)."""
    import subprocess
    import sys
    from importlib.metadata import version
    venv = tmp_path_factory.mktemp('runner_venv')
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    subprocess.run([python, '-m', 'pip', 'install', '--quiet', f'numpy=={version("numpy")}',
                    f'onnxruntime=={version("onnxruntime")}', 'opencv-python-headless'],
                   check=True, timeout=900)
    return python


@pytest.mark.slow
def test_export_command_and_the_runner_without_torch(detectors, torch_free_python, tmp_path):
    """The documented commands: pytorch2onnx.py --image prints its check with the tolerances;
    onnx_demo.py, in an environment without torch or OpenMMLab, prints and draws the same
    detections as the runner in this one."""
    import subprocess

    import cv2
    config, checkpoint = detectors['mask_rcnn']
    image, out = photo(tmp_path), str(tmp_path / 'mask_rcnn.onnx')
    stdout = run_python('tools/deployment/pytorch2onnx.py', config, '--checkpoint', checkpoint,
                        '--image', image, '--out', out, '--dynamic', '--cfg-options',
                        'test_dataloader.dataset.pipeline.1.scale=(384,304)').stdout
    assert f'to {out} (' in stdout and 'outputs dets, labels, masks' in stdout
    check = [line for line in stdout.splitlines() if 'vs inference_detector' in line]
    assert len(check) == 1 and '0 unmatched, 0 extra' in check[0], stdout[-2000:]
    for tolerance in ('box IoU', 'tolerance >= 0.98', 'tolerance <= 0.01', 'tolerance >= 0.95'):
        assert tolerance in check[0]

    meta = runner().load_meta(out)  # the check fails when PyTorch disagrees (other weights)
    with pytest.raises(SystemExit, match='disagrees with PyTorch on .*unmatched detections'):
        deployment().check_detector(out, meta, config, None, image, 0.3, PHOTO_SCALE)
    latency = str(tmp_path / 'latency.json')
    stdout = run_python('tools/deployment/benchmark_onnx.py', config, out, image,
                        '--checkpoint', checkpoint, '--runs', '1', '--warmup', '0', '--out',
                        latency, '--cfg-options',
                        'test_dataloader.dataset.pipeline.1.scale=(384,304)').stdout
    assert 'onnxruntime / pytorch latency' in stdout
    with open(latency) as f:
        assert set(json.load(f)['median_ms']) == {'pytorch', 'onnxruntime'}

    probe = subprocess.run([torch_free_python, '-c', 'import torch'], capture_output=True)
    assert probe.returncode != 0  # no torch there
    picture = str(tmp_path / 'pred.png')
    alone = subprocess.run([torch_free_python, osp.join(REPO, 'tools/deployment/onnx_demo.py'),
                            out, image, '--out', picture], capture_output=True, text=True,
                           timeout=300, cwd=str(tmp_path))
    assert alone.returncode == 0, alone.stderr[-2000:]
    here = run_python('tools/deployment/onnx_demo.py', out, image, '--out',
                      str(tmp_path / 'here.png')).stdout
    listed = [line for line in alone.stdout.splitlines() if line.startswith('  disk ')]
    assert len(listed) >= 3 and listed == [line for line in here.splitlines()
                                           if line.startswith('  disk ')]
    drawn, photo_pixels = cv2.imread(picture), cv2.imread(image)
    assert drawn.shape == photo_pixels.shape
    changed = (drawn != photo_pixels).any(-1)
    x0, y0, x1, y1 = (int(float(v)) for v in listed[0].split('[')[1].rstrip(']').split())
    assert changed[y0:y1, x0:x1].mean() > 0.3  # the best detection's mask and box are drawn
    assert changed.mean() < 0.5
