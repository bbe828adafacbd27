"""The learning-rate schedule of the official ImageNet training (timm 0.9 ``CosineLRScheduler``
as ``classfication_release/main.py`` drives it)."""
import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from ..registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class TimmCosineLR(LRSchedulerMixin, _ParamScheduler):
    """timm's cosine schedule with a non-prefixed linear warm-up, stepped once per epoch.

    For the timm step ``t`` (an epoch index):

    - ``t < warmup_t``: ``warmup_lr_init + t * (lr - warmup_lr_init) / warmup_t``;
    - ``warmup_t <= t < t_initial``: ``lr_min + (lr - lr_min) * (1 + cos(pi * t / t_initial)) / 2``
      (the cosine counts the warm-up epochs: timm's ``warmup_prefix=False``);
    - afterwards ``lr_min``.

    ``lr`` is the optimizer's learning rate (after ``auto_scale_lr``); ``warmup_lr_init`` and
    ``lr_min`` are absolute, as in timm. The official script calls ``scheduler.step(epoch)``
    after epoch ``epoch`` (timm's own ``train.py`` passes ``epoch + 1``), so epoch ``e``
    trains at step ``e - lag`` with ``lag=1``: the first two epochs both run at
    ``warmup_lr_init``, as the official logs show. The value is computed in closed form, so
    this must be the only learning-rate scheduler of the optimizer.
    """

    def __init__(self, optimizer, t_initial: int, warmup_t: int = 0,
                 warmup_lr_init: float = 0.0, lr_min: float = 0.0, lag: int = 1,
                 begin: int = 0, end: int = 10**9, last_step: int = -1,
                 by_epoch: bool = True, verbose: bool = False):
        if not by_epoch:
            raise ValueError('TimmCosineLR steps per epoch as the official training does: '
                             'by_epoch must be True')
        if not 0 <= warmup_t < t_initial:
            raise ValueError(f'TimmCosineLR: warmup_t={warmup_t} must be in [0, t_initial='
                             f'{t_initial})')
        self.t_initial, self.warmup_t = t_initial, warmup_t
        self.warmup_lr_init, self.lr_min, self.lag = warmup_lr_init, lr_min, lag
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def timm_lr(self, base_lr: float, t: int) -> float:
        """timm's value at step ``t`` for a group whose learning rate is ``base_lr``."""
        if t < self.warmup_t:
            return self.warmup_lr_init + t * (base_lr - self.warmup_lr_init) / self.warmup_t
        if t < self.t_initial:
            return self.lr_min + 0.5 * (base_lr - self.lr_min) * (
                1 + math.cos(math.pi * t / self.t_initial))
        return self.lr_min

    def _get_value(self):
        t = max(self.last_step - self.begin - self.lag, 0)
        return [self.timm_lr(base, t) for base in self.base_values]
