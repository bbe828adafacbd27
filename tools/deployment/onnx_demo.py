"""Run an exported RMT detector with onnxruntime on one image and draw its detections.

    python tools/deployment/onnx_demo.py MODEL.onnx IMAGE --out pred.jpg [--score-thr 0.3]

Needs only onnxruntime, numpy and OpenCV (no torch, no OpenMMLab): copy this file, the
``.onnx`` file and the ``.json`` file that ``pytorch2onnx.py`` wrote beside it. The JSON holds
what the config did to an image before the model (resize, normalisation, padding), the class
names and the mask threshold; this script does the same with OpenCV, runs the graph, scales
the boxes back to the image, pastes the masks into their boxes as mmdet does and draws them.
"""
import argparse
import json
import os.path as osp

import cv2
import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model', help='the .onnx file (its .json beside it)')
    parser.add_argument('image')
    parser.add_argument('--out', default='pred.jpg', help='picture to write')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='draw detections scoring at least this (mmdet demo default)')
    return parser.parse_args(argv)


def meta_path(model_path: str) -> str:
    return osp.splitext(model_path)[0] + '.json'


def load_meta(model_path: str) -> dict:
    path = meta_path(model_path)
    if not osp.exists(path):
        raise FileNotFoundError(f'{path} is missing: pytorch2onnx.py writes it beside the '
                                f'model (the preprocessing, classes and mask threshold)')
    with open(path) as f:
        return json.load(f)


def read_image(path: str) -> np.ndarray:
    """A BGR image (h, w, 3) uint8, as mmcv reads it; an error naming the file otherwise."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f'cannot read {path} as an image')
    return image


def resized_size(height: int, width: int, scale, keep_ratio: bool):
    """(new_h, new_w) of mmdet's Resize (mmcv.imrescale when ``keep_ratio``); scale is (w, h)."""
    if not keep_ratio:
        return int(scale[1]), int(scale[0])
    factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
    return int(height * factor + 0.5), int(width * factor + 0.5)


def preprocess(image: np.ndarray, meta: dict):
    """BGR image (h, w, 3) uint8 -> (input (1, 3, H, W) float32, scale_factor (sx, sy))."""
    prep = meta['preprocess']
    height, width = image.shape[:2]
    new_h, new_w = resized_size(height, width, prep['scale'], prep['keep_ratio'])
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if prep['to_rgb']:
        resized = resized[..., ::-1]
    x = (resized.astype(np.float32) - np.float32(prep['mean'])) / np.float32(prep['std'])
    if prep['static_shape']:
        pad_h, pad_w = prep['static_shape']
        if new_h > pad_h or new_w > pad_w:
            raise ValueError(f'the resized image ({new_h}x{new_w}) is larger than the static '
                             f'input of the model ({pad_h}x{pad_w}); export with --dynamic or '
                             f'a larger --shape')
    else:
        divisor = prep['pad_size_divisor'] or 1
        pad_h, pad_w = -(-new_h // divisor) * divisor, -(-new_w // divisor) * divisor
    batch = np.full((1, 3, pad_h, pad_w), prep['pad_value'], np.float32)
    batch[0, :, :new_h, :new_w] = x.transpose(2, 0, 1)
    return batch, (new_w / width, new_h / height)


def _bilinear_weights(coords: np.ndarray, size: int) -> np.ndarray:
    """(len(coords), size) weights of linear interpolation at ``coords`` (input pixel units,
    centres at integers), zero outside the input: grid_sample's zeros padding."""
    weights = np.zeros((len(coords), size), np.float64)
    low = np.floor(coords).astype(np.int64)
    frac = coords - low
    rows = np.arange(len(coords))
    for index, weight in ((low, 1 - frac), (low + 1, frac)):
        inside = (index >= 0) & (index < size)
        weights[rows[inside], index[inside]] = weight[inside]
    return weights


def paste_region(prob: np.ndarray, box, height: int, width: int):
    """A (s, s) mask probability map pasted into its box of a (height, width) image, as
    mmdet's ``_do_paste_mask`` on the CPU: bilinear grid sampling over the box and one pixel
    around it (zero elsewhere). Returns (probabilities (h', w') float64, (top, left))."""
    x0, y0, x1, y1 = (float(v) for v in box)
    left, top = max(int(np.floor(x0)) - 1, 0), max(int(np.floor(y0)) - 1, 0)
    right, bottom = min(int(np.ceil(x1)) + 1, width), min(int(np.ceil(y1)) + 1, height)
    if right <= left or bottom <= top or x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0)), (0, 0)
    size_y, size_x = prob.shape
    xs = (np.arange(left, right) + 0.5 - x0) / (x1 - x0) * size_x - 0.5
    ys = (np.arange(top, bottom) + 0.5 - y0) / (y1 - y0) * size_y - 0.5
    region = _bilinear_weights(ys, size_y) @ prob.astype(np.float64) @ \
        _bilinear_weights(xs, size_x).T
    return region, (top, left)


def paste_masks(probs: np.ndarray, boxes: np.ndarray, height: int, width: int,
                threshold: float) -> np.ndarray:
    """(N, s, s) probabilities in their (N, 4) boxes -> (N, height, width) bool masks."""
    masks = np.zeros((len(probs), height, width), bool)
    for mask, prob, box in zip(masks, probs, boxes):
        region, (top, left) = paste_region(prob, box, height, width)
        mask[top:top + region.shape[0], left:left + region.shape[1]] = region >= threshold
    return masks


def postprocess(outputs: list, meta: dict, scale_factor, image_hw) -> dict:
    """The graph's outputs -> boxes (N, 4) in image pixels, scores (N,), labels (N,) and, for
    instance segmentation, masks (N, h, w) bool."""
    named = dict(zip(meta['outputs'], outputs))
    dets, labels = named['dets'][0], named['labels'][0].astype(np.int64)
    sx, sy = scale_factor
    boxes = dets[:, :4] / np.float32([sx, sy, sx, sy])
    result = dict(boxes=boxes, scores=dets[:, 4], labels=labels)
    if 'masks' in named:
        result['masks'] = paste_masks(named['masks'][0], boxes, *image_hw,
                                      meta['mask_thr_binary'])
    return result


def infer(session, image: np.ndarray, meta: dict) -> dict:
    """One BGR image through the exported model: :func:`postprocess`'s dict."""
    inputs, scale_factor = preprocess(image, meta)
    outputs = session.run(meta['outputs'], {meta['input']: inputs})
    return postprocess(outputs, meta, scale_factor, image.shape[:2])


def palette(count: int) -> list:
    """``count`` distinct BGR colours (fixed, so that pictures compare between runs)."""
    hues = (np.arange(count) * 0.618034) % 1.0
    hsv = np.stack([hues * 179, np.full(count, 200), np.full(count, 255)], 1).astype(np.uint8)
    return [tuple(int(c) for c in bgr) for bgr in cv2.cvtColor(hsv[None], cv2.COLOR_HSV2BGR)[0]]


def draw(image: np.ndarray, result: dict, classes, score_thr: float) -> np.ndarray:
    """The detections scoring at least ``score_thr`` drawn on a copy of ``image``: masks
    blended, boxes, class name and score."""
    picture = image.copy()
    colours = palette(max(len(classes), 1))
    shown = np.flatnonzero(result['scores'] >= score_thr)
    for i in shown:
        colour = colours[result['labels'][i] % len(colours)]
        if 'masks' in result:
            mask = result['masks'][i]
            picture[mask] = (0.5 * picture[mask] + 0.5 * np.float32(colour)).astype(np.uint8)
    for i in shown:
        label = int(result['labels'][i])
        colour = colours[label % len(colours)]
        x0, y0, x1, y1 = (int(round(float(v))) for v in result['boxes'][i])
        cv2.rectangle(picture, (x0, y0), (x1, y1), colour, 2)
        name = classes[label] if label < len(classes) else str(label)
        cv2.putText(picture, f'{name} {result["scores"][i]:.2f}', (x0, max(y0 - 4, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    return picture


def main(argv=None):
    import onnxruntime as ort
    args = parse_args(argv)
    meta = load_meta(args.model)
    try:
        image = read_image(args.image)
    except FileNotFoundError as error:
        raise SystemExit(f'error: {error}') from None
    session = ort.InferenceSession(args.model, providers=['CPUExecutionProvider'])
    result = infer(session, image, meta)
    classes = meta['classes']
    shown = np.flatnonzero(result['scores'] >= args.score_thr)
    print(f'{len(result["scores"])} detections, {len(shown)} with score >= {args.score_thr}:')
    for i in shown:
        label = int(result['labels'][i])
        box = ' '.join(f'{v:.1f}' for v in result['boxes'][i])
        print(f'  {classes[label] if label < len(classes) else label} '
              f'{result["scores"][i]:.3f} [{box}]')
    if not cv2.imwrite(args.out, draw(image, result, classes, args.score_thr)):
        raise SystemExit(f'error: cannot write {args.out}')
    print(f'drew them on {args.out}')


if __name__ == '__main__':
    main()
