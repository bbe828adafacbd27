"""The model EMA of the official ImageNet training, and its evaluation of both models.

The official ``classfication_release/main.py`` keeps a timm ``ModelEma`` (every float entry of
the state_dict, BatchNorm statistics included) updated after every iteration with the decay
``0.99996 ** (total_batch / 512)``, evaluates the trained and the averaged model after every
epoch and reports the best epoch of either (RMT-T's 82.4 is the trained model; S/B/L report
the EMA).
"""

from mmengine.dist import get_world_size
from mmengine.hooks import EMAHook
from mmengine.logging import print_log
from mmengine.runner import ValLoop

try:  # mmengine >= 0.10: validation loops also log the losses of val_step
    from mmengine.runner.loops import _parse_losses
except ImportError:  # mmengine 0.9: they log none
    _parse_losses = None

from ..registry import HOOKS, LOOPS


def train_batch_size(runner) -> int | None:
    """Images per process and iteration of the runner's train loader (None: no train loader)."""
    loader = runner._train_dataloader  # built (DataLoader) or still a config dict
    if loader is None:
        return None
    return loader['batch_size'] if isinstance(loader, dict) else loader.batch_size


@HOOKS.register_module()
class BatchScaledEMAHook(EMAHook):
    """mmengine's EMAHook whose per-iteration decay follows the total batch:
    ``decay ** (batch_size * world_size / base_batch_size)``, as timm's ModelEma in the official
    training (0.99996 per 512 images: momentum 1.6e-4 at 16 GPUs x 128).

    Args:
        decay (float): the decay per ``base_batch_size`` images.
        base_batch_size (int): the total batch ``decay`` is given for.
        update_buffers (bool): average the buffers (BatchNorm statistics) too, as timm's
            ModelEma averages the whole state_dict. Defaults to True.
        **kwargs: the rest of mmengine's EMAHook arguments (``begin_iter``, ``interval``...).
    """

    def __init__(self, decay: float = 0.99996, base_batch_size: int = 512,
                 update_buffers: bool = True, **kwargs):
        if not 0.0 < decay < 1.0:
            raise ValueError(f'BatchScaledEMAHook: decay={decay} must be in (0, 1)')
        self.decay, self.base_batch_size = decay, base_batch_size
        super().__init__(momentum=1.0 - decay, update_buffers=update_buffers, **kwargs)

    def momentum_for(self, total_batch: int) -> float:
        """mmengine's EMA momentum (1 - decay) for ``total_batch`` images per iteration."""
        return 1.0 - self.decay ** (total_batch / self.base_batch_size)

    def before_run(self, runner) -> None:
        batch_size = train_batch_size(runner)
        if batch_size is not None:  # test-only runs never update the EMA
            total = batch_size * get_world_size()
            self.ema_cfg['momentum'] = self.momentum_for(total)
            print_log(f'EMA: decay {self.decay} per {self.base_batch_size} images, total batch '
                      f'{total}: momentum {self.ema_cfg["momentum"]:.4g} per iteration',
                      logger='current')
        super().before_run(runner)


@LOOPS.register_module()
class RawAndEMAValLoop(ValLoop):
    """Evaluate the trained weights and their EMA at every validation, as the official script.

    The metrics of the trained weights keep their names (``accuracy/top1``), those of the EMA
    are prefixed (``ema/accuracy/top1``), and ``raw_or_ema/<compare_key>`` is the better of the
    two: the number the official script reports, and the key for the checkpoint hook's
    ``save_best``. Without an EMAHook only the trained weights are evaluated (and
    ``raw_or_ema/<compare_key>`` is theirs), so ``save_best`` works either way.

    Args:
        compare_key (str): the metric compared between the two models.
            Defaults to 'accuracy/top1'.
    """

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False,
                 compare_key: str = 'accuracy/top1'):
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        self.compare_key = compare_key

    def _evaluate(self) -> dict[str, float]:
        self.runner.model.eval()
        val_loss = getattr(self, 'val_loss', None)  # mmengine >= 0.10
        if val_loss is not None:
            val_loss.clear()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if val_loss:
            metrics.update(_parse_losses(val_loss, 'val'))
        return metrics

    def run(self) -> dict:
        ema_hook = next((h for h in self.runner.hooks if isinstance(h, EMAHook)), None)
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')  # an EMAHook swaps the averaged weights in
        if ema_hook is None:
            raw, ema = self._evaluate(), {}
        else:
            ema = self._evaluate()
            ema_hook.after_val_epoch(self.runner)  # the trained weights back
            raw = self._evaluate()
            ema_hook.before_val_epoch(self.runner)  # so that after_val_epoch restores them
        if self.compare_key not in raw:
            raise KeyError(f'RawAndEMAValLoop: compare_key={self.compare_key!r} is not among '
                           f'the metrics {sorted(raw)}')
        metrics = dict(raw)
        metrics.update({f'ema/{key}': value for key, value in ema.items()})
        metrics[f'raw_or_ema/{self.compare_key}'] = max(
            raw[self.compare_key], ema.get(self.compare_key, raw[self.compare_key]))
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics
