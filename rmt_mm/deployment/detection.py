"""mmdet detectors as one traceable module: a preprocessed image in, MMDeploy's end2end
outputs out, with mmdet's test-time post-processing inside the graph.

``End2EndDetector(detector)(input)`` with ``input`` (1, 3, H, W), normalised and zero-padded
as the config's data preprocessor does, returns

- ``dets`` (1, N, 5): x1, y1, x2, y2 in input pixels, then the score;
- ``labels`` (1, N): class indices;
- ``masks`` (1, N, h, w) for instance segmentation: the mask head's probabilities of each
  detection's class (28x28 for mmdet's heads), to be pasted into its box, as MMDeploy gives
  them.

Supported: single-stage anchor heads (RetinaNet) and two-stage detectors with an RPN and a
standard or cascade RoI head (Mask R-CNN, Cascade Mask R-CNN). The heads' own layers, prior
generators and box coders run unchanged; only what mmdet does in Python per image (score
filtering, top-k, NMS, level assignment of RoIs) is written here with operators that export to
standard ONNX: ``NonMaxSuppression`` and ``RoiAlign`` through torchvision's registered
symbolics, ``TopK``, ``NonZero`` and ``Gather`` for the data-dependent sizes.

Where mmdet reads ``img_shape`` (the resized image inside its padding) to clip boxes, the
graph recovers it from the padding itself: mmdet normalises first and then pads with
``pad_value``, so the image ends at the last row and column that differ from it. Boxes are
thus clipped exactly where mmdet clips them, also when a runner pads more than mmdet would.
"""
import torch
import torch.nn as nn
from torchvision.ops import nms, roi_align

SUPPORTED = ('RetinaNet-style single-stage detectors (AnchorHead), two-stage detectors with '
             'an RPNHead and a StandardRoIHead or CascadeRoIHead')


def image_size(inputs: torch.Tensor, pad_value: float = 0.0) -> torch.Tensor:
    """(2,) float tensor: height and width of the image inside the padding of ``inputs``
    (1, 3, H, W); the full size when nothing is padding."""
    content = (inputs[0] != pad_value).any(0).float()  # (H, W)
    height, width = inputs.shape[-2:]
    last_row = (content.amax(1) * torch.arange(1, height + 1, dtype=torch.float32)).amax()
    last_col = (content.amax(0) * torch.arange(1, width + 1, dtype=torch.float32)).amax()
    full = torch.stack([torch.as_tensor(height), torch.as_tensor(width)]).float()
    found = torch.stack([last_row, last_col])
    return torch.where(found > 0, found, full)


def clip_boxes(boxes: torch.Tensor, size_hw: torch.Tensor) -> torch.Tensor:
    """Clip (..., 4) x1y1x2y2 boxes to [0, w] x [0, h], as mmdet's box coders do."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    height, width = size_hw[0], size_hw[1]
    return torch.stack([x1.clamp(min=0).minimum(width), y1.clamp(min=0).minimum(height),
                        x2.clamp(min=0).minimum(width), y2.clamp(min=0).minimum(height)], -1)


def top_k(scores: torch.Tensor, k: int):
    """The ``k`` best of a 1-D tensor (all of them when shorter): (values, indices),
    descending. ``k`` stays a graph value, so the size is read at run time."""
    count = torch.as_tensor(scores.shape[0])
    return scores.topk(torch.minimum(count, torch.as_tensor(k)))


def nonempty(boxes: torch.Tensor, min_size: float = 0.0) -> torch.Tensor:
    """(N,) bool: width and height above ``min_size`` (mmdet's ``min_bbox_size`` filter)."""
    return ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)


def nms_top(boxes, scores, groups, size_hw, iou_threshold: float, max_num: int):
    """mmdet's ``batched_nms`` then ``[:max_num]``: indices of the kept boxes, best first.

    Each group's boxes are moved apart as mmdet does, by a multiple of the image size rather
    than of the largest coordinate (the boxes are clipped to the image, so groups never
    meet), which needs no reduction over a possibly empty set and no branch on its size:
    the traced graph is right for any number of boxes. Exports as ``NonMaxSuppression``.
    """
    offsets = groups.to(boxes.dtype)[:, None] * (size_hw.max() + 1)
    keep = nms(boxes + offsets, scores, iou_threshold)
    return keep[:max_num] if max_num > 0 else keep


def _iou_threshold(cfg) -> float:
    """The IoU threshold of a test_cfg's ``nms`` (plain NMS only: ONNX has no soft-NMS)."""
    nms_cfg = cfg.get('nms') or {}
    if nms_cfg.get('type', 'nms') != 'nms':
        raise ValueError(f'test_cfg nms type {nms_cfg.get("type")!r} is not exported; only '
                         f'\'nms\' (mmdet\'s default) has an ONNX operator')
    return nms_cfg.get('iou_threshold', 0.5)


def dense_levels(head, feats):
    """A dense head's outputs for one image, per FPN level: (scores (A, num_classes),
    box deltas (A, encode_size), priors (A, 4)), A the level's anchors in mmdet's order."""
    cls_scores, bbox_preds = head(feats)
    priors = head.prior_generator.grid_priors(
        [score.shape[-2:] for score in cls_scores], device=cls_scores[0].device)
    for cls_score, bbox_pred, prior in zip(cls_scores, bbox_preds, priors):
        deltas = bbox_pred[0].permute(1, 2, 0).reshape(-1, head.bbox_coder.encode_size)
        logits = cls_score[0].permute(1, 2, 0).reshape(-1, head.cls_out_channels)
        yield (logits.sigmoid() if head.use_sigmoid_cls else logits.softmax(-1)[:, :-1],
               deltas, prior)


def anchor_detections(head, feats, size_hw, cfg):
    """An anchor head's predictions after mmdet's ``predict_by_feat`` for one image:
    (boxes (N, 4), scores (N,), labels (N,)), before the final NMS.

    Per level: scores above ``score_thr``, the ``nms_pre`` best (anchor, class) pairs, decoded
    and clipped; mmdet sorts the thresholded pairs and takes the first ``nms_pre``, which is
    the same set as the ``nms_pre`` best followed by the threshold.
    """
    boxes, scores, labels = [], [], []
    num_classes = head.num_classes
    for level_scores, deltas, prior in dense_levels(head, feats):
        flat = level_scores.reshape(-1)
        if cfg.get('nms_pre', -1) > 0:
            flat, order = top_k(flat, cfg.nms_pre)
        else:
            order = torch.arange(flat.shape[0])
        anchor = torch.div(order, num_classes, rounding_mode='floor')
        # Decoded before the threshold: mmdet's delta2bbox returns its input unchanged for
        # zero boxes, a branch a trace must not take.
        decoded = head.bbox_coder.decode(prior[anchor], deltas[anchor], max_shape=None)
        keep = flat > cfg.get('score_thr', 0)
        boxes.append(decoded[keep])
        scores.append(flat[keep])
        labels.append((order - anchor * num_classes)[keep])
    return clip_boxes(torch.cat(boxes), size_hw), torch.cat(scores), torch.cat(labels)


def rpn_proposals(head, feats, size_hw, cfg):
    """RPNHead's proposals for one image: (boxes (N, 4), scores (N,)), ``nms_pre`` per level,
    NMS within each level, the ``max_per_img`` best (mmdet's RPNHead.predict_by_feat)."""
    boxes, scores, levels = [], [], []
    for level, (level_scores, deltas, prior) in enumerate(dense_levels(head, feats)):
        level_scores, order = top_k(level_scores.reshape(-1), cfg.nms_pre)  # one class
        boxes.append(head.bbox_coder.decode(prior[order], deltas[order], max_shape=None))
        scores.append(level_scores)
        levels.append(torch.full_like(order, level))
    boxes, scores, levels = clip_boxes(torch.cat(boxes), size_hw), torch.cat(scores), \
        torch.cat(levels)
    if cfg.get('min_bbox_size', -1) >= 0:
        valid = nonempty(boxes, cfg.min_bbox_size)
        boxes, scores, levels = boxes[valid], scores[valid], levels[valid]
    keep = nms_top(boxes, scores, levels, size_hw, _iou_threshold(cfg), cfg.max_per_img)
    return boxes[keep], scores[keep]


def roi_features(extractor, feats, rois):
    """SingleRoIExtractor's features of (N, 5) rois: (N, C, s, s). Each level pools the RoIs
    mmdet assigns to it (by scale, in the graph) and scatters them back in RoI order."""
    layer = extractor.roi_layers[0]
    num_levels = len(extractor.featmap_strides)
    levels = extractor.map_roi_levels(rois, num_levels)
    pooled = feats[0].new_zeros((rois.shape[0], feats[0].shape[1], *layer.output_size))
    for level, (feat, stride) in enumerate(zip(feats[:num_levels], extractor.featmap_strides)):
        index = torch.nonzero(levels == level).squeeze(1)
        level_feats = roi_align(feat, rois[index], layer.output_size, 1.0 / stride,
                                layer.sampling_ratio, layer.aligned)
        pooled = pooled.index_put((index, ), level_feats)
    return pooled


def _per_stage(roi_head, name: str) -> list:
    """A RoI head's ``name`` module(s) as a list: one per cascade stage, or the one."""
    modules = getattr(roi_head, name)
    return list(modules) if getattr(roi_head, 'num_stages', 1) > 1 else [modules]


def _rois(boxes):
    return torch.cat([boxes.new_zeros(boxes.shape[0], 1), boxes], 1)


def roi_detections(roi_head, feats, proposals, size_hw, cfg):
    """A standard or cascade RoI head's boxes for one image after multiclass NMS:
    (boxes (N, 4), scores (N,), labels (N,)) in input pixels."""
    bbox_heads = _per_stage(roi_head, 'bbox_head')
    extractors = _per_stage(roi_head, 'bbox_roi_extractor')
    stages = len(bbox_heads)
    rois, stage_logits = _rois(proposals), []
    for stage, (extractor, bbox_head) in enumerate(zip(extractors, bbox_heads)):
        cls_score, bbox_pred = bbox_head(roi_features(extractor, feats, rois))
        stage_logits.append(cls_score)
        if stage < stages - 1:  # CascadeRoIHead._refine_roi
            if not bbox_head.reg_class_agnostic:  # the deltas of the best class
                label = cls_score[:, :-1].argmax(1)
                bbox_pred = bbox_pred.reshape(bbox_pred.shape[0], -1, 4)[
                    torch.arange(bbox_pred.shape[0]), label]
            refined = bbox_head.bbox_coder.decode(rois[:, 1:], bbox_pred, max_shape=None)
            rois = _rois(clip_boxes(refined, size_hw))
    logits = sum(stage_logits) / float(stages)  # the cascade averages the stages' logits
    scores = logits.softmax(-1)[:, :-1]
    boxes = bbox_heads[-1].bbox_coder.decode(rois[:, 1:], bbox_pred, max_shape=None)
    num_classes = scores.shape[1]
    boxes = clip_boxes(boxes.reshape(boxes.shape[0], -1, 4), size_hw)
    if boxes.shape[1] == 1:  # class-agnostic regression: one box for every class
        boxes = boxes.expand(-1, num_classes, -1)
    # mmdet's multiclass_nms: every (RoI, class) pair above score_thr, NMS per class.
    flat_scores = scores.reshape(-1)
    keep = torch.nonzero(flat_scores > cfg.score_thr).squeeze(1)
    boxes, flat_scores = boxes.reshape(-1, 4)[keep], flat_scores[keep]
    labels = keep - torch.div(keep, num_classes, rounding_mode='floor') * num_classes
    keep = nms_top(boxes, flat_scores, labels, size_hw, _iou_threshold(cfg),
                   cfg.max_per_img)
    return boxes[keep], flat_scores[keep], labels[keep]


def roi_masks(roi_head, feats, boxes, labels):
    """Mask probabilities of each box's class: (N, s, s); a cascade averages its stages'
    probabilities (mmdet's merge_aug_masks)."""
    heads = _per_stage(roi_head, 'mask_head')
    extractors = _per_stage(roi_head, 'bbox_roi_extractor' if roi_head.share_roi_extractor
                            else 'mask_roi_extractor')
    rois = _rois(boxes)
    probs = [head(roi_features(extractor, feats, rois)).sigmoid()
             for extractor, head in zip(extractors, heads)]
    probs = sum(probs) / float(len(probs))
    if probs.shape[1] == 1:  # class-agnostic masks
        return probs[:, 0]
    return probs[torch.arange(probs.shape[0]), labels]


class End2EndDetector(nn.Module):
    """An mmdet detector with its test-time post-processing: (1, 3, H, W) -> dets, labels
    (and masks). See the module docstring for the layout; ``output_names`` lists them."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector.eval()
        self.two_stage = hasattr(detector, 'rpn_head') and hasattr(detector, 'roi_head')
        head = getattr(detector, 'bbox_head', None)
        if not self.two_stage and not (head is not None and hasattr(head, 'prior_generator')
                                       and hasattr(head, 'bbox_coder')):
            raise TypeError(f'{type(detector).__name__} with '
                            f'{type(head).__name__ if head is not None else "no bbox_head"} '
                            f'is not exported; supported: {SUPPORTED}')
        if self.two_stage and type(detector.roi_head).__name__ not in (
                'StandardRoIHead', 'CascadeRoIHead'):
            raise TypeError(f'{type(detector.roi_head).__name__} is not exported; '
                            f'supported: {SUPPORTED}')
        self.with_mask = self.two_stage and detector.roi_head.with_mask
        self.pad_value = float(getattr(detector.data_preprocessor, 'pad_value', 0))

    @property
    def output_names(self) -> list:
        return ['dets', 'labels'] + (['masks'] if self.with_mask else [])

    def forward(self, inputs: torch.Tensor):
        """inputs (1, 3, H, W) -> dets (1, N, 5), labels (1, N)[, masks (1, N, s, s)]."""
        detector = self.detector
        size_hw = image_size(inputs, self.pad_value)
        feats = detector.extract_feat(inputs)
        if self.two_stage:
            cfg = detector.test_cfg
            proposals, _ = rpn_proposals(detector.rpn_head, feats, size_hw, cfg.rpn)
            boxes, scores, labels = roi_detections(detector.roi_head, feats, proposals,
                                                   size_hw, cfg.rcnn)
        else:
            cfg = detector.bbox_head.test_cfg
            boxes, scores, labels = anchor_detections(detector.bbox_head, feats, size_hw, cfg)
            if cfg.get('min_bbox_size', -1) >= 0:
                valid = nonempty(boxes, cfg.min_bbox_size)
                boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
            keep = nms_top(boxes, scores, labels, size_hw, _iou_threshold(cfg), cfg.max_per_img)
            boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        dets = torch.cat([boxes, scores[:, None]], 1)[None]
        outputs = (dets, labels[None])
        if self.with_mask:
            outputs += (roi_masks(detector.roi_head, feats, boxes, labels)[None], )
        return outputs
