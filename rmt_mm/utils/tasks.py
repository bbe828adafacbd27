"""The three tasks rmt_mm serves, in one table every tool reads.

A config names its task by ``default_scope`` (``mmpretrain``, ``mmdet``, ``mmseg``); what
differs between the tasks (the library's visualizer, data sample and inference API, the
metrics the paper reports, the default input size, how the test loop draws predictions)
is written once here. The libraries are imported only when a task's entry is used.
"""
import importlib
from collections.abc import Callable
from dataclasses import dataclass


def _load(dotted: str):
    module, _, name = dotted.rpartition('.')
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Task:
    """What one task's tools need to know.

    Attributes:
        scope: the library, as configs name it in ``default_scope``.
        name: ``cls``, ``det`` or ``seg`` (the folder of its configs).
        title: the paper's table the task reproduces.
        default_shape: (H, W) of FLOP counts and benchmarks (the papers' sizes).
        export_shape: (H, W) of ONNX export (a detector's static default: MMDeploy's).
        visualizer: the library's visualizer class (dotted path).
        data_sample: the library's data sample class (dotted path).
        metrics: (key in mmengine's logs, column, scale to the paper's unit), in table order.
        draw_test_outputs: turns on the config's visualization hook so that the test loop
            draws predictions into a folder: ``(cfg, show_dir) -> None``.
        predict: the library's own inference API on one image:
            ``(cfg, checkpoint, image_path, device) -> (model, data sample)``.
    """

    scope: str
    name: str
    title: str
    default_shape: tuple
    export_shape: tuple | None
    visualizer: str
    data_sample: str
    metrics: tuple
    draw_test_outputs: Callable
    predict: Callable

    def visualizer_class(self):
        return _load(self.visualizer)

    def dummy_data_samples(self, height: int, width: int) -> list:
        """One data sample with the metainfo a forward in ``tensor`` mode reads."""
        meta = dict(img_shape=(height, width), ori_shape=(height, width),
                    pad_shape=(height, width), batch_input_shape=(height, width),
                    scale_factor=(1.0, 1.0))
        return [_load(self.data_sample)(metainfo=meta)]


def _draw_cls(cfg, show_dir):
    cfg.default_hooks.visualization.update(enable=True, out_dir=show_dir, interval=1)


def _draw_det(cfg, show_dir):
    cfg.default_hooks.visualization.update(draw=True, test_out_dir=show_dir)


def _draw_seg(cfg, show_dir):  # mmseg draws into the visualizer's save_dir
    cfg.default_hooks.visualization.update(draw=True, interval=1)
    cfg.visualizer['save_dir'] = show_dir


def _predict_cls(cfg, checkpoint, image_path, device):
    from mmpretrain.apis import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(cfg, pretrained=checkpoint, device=device)
    # mmpretrain keeps the class names on the inferencer, not on the model.
    inferencer.model.dataset_meta = dict(classes=inferencer.classes)
    return inferencer.model, inferencer(image_path, return_datasamples=True)[0]


def _predict_det(cfg, checkpoint, image_path, device):
    from mmdet.apis import inference_detector, init_detector
    model = init_detector(cfg, checkpoint, device=device)
    return model, inference_detector(model, image_path)


def _predict_seg(cfg, checkpoint, image_path, device):
    from mmseg.apis import inference_model, init_model
    model = init_model(cfg, checkpoint, device=device)
    return model, inference_model(model, image_path)


TASKS = {
    'mmpretrain': Task(
        scope='mmpretrain', name='cls', title='ImageNet-1k classification',
        default_shape=(224, 224), export_shape=(224, 224),
        visualizer='mmpretrain.visualization.UniversalVisualizer',
        data_sample='mmpretrain.structures.DataSample',
        metrics=(('accuracy/top1', 'top-1', 1.0), ),
        draw_test_outputs=_draw_cls, predict=_predict_cls),
    'mmdet': Task(
        scope='mmdet', name='det', title='COCO detection and instance segmentation',
        default_shape=(800, 1280), export_shape=(800, 1344),
        visualizer='mmdet.visualization.DetLocalVisualizer',
        data_sample='mmdet.structures.DetDataSample',
        metrics=(('coco/bbox_mAP', 'box AP', 100.0), ('coco/segm_mAP', 'mask AP', 100.0)),
        draw_test_outputs=_draw_det, predict=_predict_det),
    'mmseg': Task(
        scope='mmseg', name='seg', title='ADE20K semantic segmentation',
        default_shape=(512, 2048), export_shape=(512, 512),
        visualizer='mmseg.visualization.SegLocalVisualizer',
        data_sample='mmseg.structures.SegDataSample',
        metrics=(('mIoU', 'mIoU', 1.0), ),
        draw_test_outputs=_draw_seg, predict=_predict_seg),
}


def get_task(scope_or_cfg) -> Task:
    """The task of a config (or of its ``default_scope``), with an error naming the choices."""
    scope = scope_or_cfg if isinstance(scope_or_cfg, str) else \
        scope_or_cfg.get('default_scope')
    if scope not in TASKS:
        raise ValueError(f'default_scope must be one of {sorted(TASKS)} (the task library of '
                         f'the config), got {scope!r}')
    return TASKS[scope]
