"""A model in mmengine's ``tensor`` mode as a plain module: images in, tensors out.

What FLOP counters and exporters trace: no data preprocessing and no post-processing
(the raw outputs of the heads; :class:`~rmt_mm.deployment.End2EndDetector` adds mmdet's).
"""
import torch


class TensorMode(torch.nn.Module):
    """``model(inputs, data_samples, mode='tensor')``, or ``model.backbone(inputs)`` with
    ``part='backbone'``: (B, 3, H, W) -> the model's tensors.

    Args:
        model: an mmengine model (classifier, detector, segmentor).
        part: ``'model'`` or ``'backbone'``. Defaults to ``'model'``.
        data_samples: what a ``tensor``-mode forward reads (a detector's RPN needs its
            image shapes); None for classifiers and segmentors. Defaults to None.
    """

    def __init__(self, model: torch.nn.Module, part: str = 'model', data_samples=None):
        super().__init__()
        if part not in ('model', 'backbone'):
            raise ValueError(f"part={part!r}: 'model' or 'backbone'")
        self.model, self.part, self.data_samples = model, part, data_samples

    def forward(self, inputs: torch.Tensor):
        if self.part == 'backbone':
            return self.model.backbone(inputs)
        return self.model(inputs, self.data_samples, mode='tensor')
