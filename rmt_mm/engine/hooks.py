"""Hooks that make long runs resumable and stop them loudly when the loss breaks."""
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ..registry import HOOKS


def _scalar(value) -> float:
    return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)


def _random_state() -> dict:
    # numpy's key array goes in as a tensor: checkpoints stay loadable with weights_only=True
    # without allow-listing more numpy classes.
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    state = dict(python=random.getstate(),
                 numpy=(name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss,
                        cached_gaussian),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_random_state(state: dict) -> None:
    random.setstate(state['python'])
    name, keys, pos, has_gauss, cached_gaussian = state['numpy']
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached_gaussian))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


class _RestoreAfter:
    """Iterator wrapper that calls ``restore`` once, right before item ``skip`` is drawn."""

    def __init__(self, iterator, skip: int, restore):
        self.iterator, self.remaining, self.restore = iterator, skip, restore

    def __iter__(self):
        return self

    def __next__(self):
        if self.remaining == 0 and self.restore is not None:
            self.restore()
            self.restore = None
        self.remaining -= 1
        return next(self.iterator)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save every rank's python/numpy/torch random state in the checkpoint and restore it on
    resume, so that a resumed run draws the same random numbers (augmentations in the main
    process, RoI sampling, drop path) as a run that was never interrupted.

    The state is restored at the point of the loop where it was saved: at the start of the
    resumed epoch, or, in iteration-based loops, after mmengine has replayed the data loader
    up to the resumed iteration (that replay draws random numbers too) and before the next
    batch is drawn.

    Only rank 0 writes checkpoints (and only it calls ``before_save_checkpoint``), so in
    distributed runs the states of all ranks are gathered just before the checkpoint hook
    saves: at the end of the iterations or epochs where the config's CheckpointHook is due (a
    few kB per rank; one small collective). A checkpoint written at another time (a manual
    ``runner.save_checkpoint``) holds no random state; resuming from it warns and goes on.
    """
    priority = 'LOW'  # after the other hooks, before the CheckpointHook (VERY_LOW)

    def __init__(self):
        self._pending: dict | None = None
        self._gathered: tuple | None = None  # (iteration, states of all ranks)

    def _checkpoint_due(self, runner, by_epoch: bool) -> bool:
        """Whether the runner's CheckpointHook saves at the end of this iteration (epoch),
        by the hook's own interval rules."""
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or hook.by_epoch != by_epoch:
                continue
            if by_epoch:
                return hook.every_n_epochs(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_epoch(runner))
            return hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                hook.save_last and hook.is_last_train_iter(runner))
        return False

    def _gather_if_due(self, runner, by_epoch: bool):
        if get_world_size() > 1 and self._checkpoint_due(runner, by_epoch):
            self._gathered = (runner.iter, all_gather_object(_random_state()))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._gather_if_due(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_due(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # No collective here: mmengine calls this on rank 0 only.
        if get_world_size() == 1:
            checkpoint['random_state'] = [_random_state()]
        elif self._gathered is not None and self._gathered[0] == runner.iter:
            # Gathered at this point of training (the best checkpoint after the epoch's
            # validation is the same point).
            checkpoint['random_state'] = self._gathered[1]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get('random_state')
        if states is None:
            return
        if len(states) != get_world_size():
            print_log(f'the checkpoint holds the random state of {len(states)} processes, '
                      f'this run has {get_world_size()}: random numbers will differ from '
                      f'the interrupted run', logger='current', level=30)
            return
        self._pending = states[get_rank()]

    def before_train_epoch(self, runner) -> None:
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        loop = runner.train_loop
        if hasattr(loop, 'dataloader_iterator') and runner.iter > 0:  # iteration-based
            loop.dataloader_iterator = _RestoreAfter(
                loop.dataloader_iterator, runner.iter, lambda: _set_random_state(state))
        else:
            _set_random_state(state)


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Skip the update of an iteration whose loss is NaN or Inf, and stop the run only when
    such iterations follow one another ``max_consecutive`` times.

    The official fp16 training (dynamic loss scaling) skips a step whose gradients overflow
    and goes on; a transient non-finite loss must not end a multi-day run either. Each
    skipped step is logged with its iteration and every loss term, and counted
    (``train/nonfinite_skipped`` in the log, as GradScaler's skipped steps); a finite loss
    resets the run of them. ``action='raise'`` stops at the first one instead.

    The check runs between the loss and the backward pass, so a broken loss never reaches the
    weights: for the length of ``runner.train()`` the hook wraps the model's ``parse_losses``
    and the optimizer wrapper's ``update_params`` (restored after training). Its cost per
    iteration: reading the loss on the host (mmengine reads it for the log anyway) and, in
    distributed runs, one all-reduced 4-byte flag so that all ranks skip or stop together.

    Args:
        action (str): 'skip' (default) or 'raise'.
        max_consecutive (int): with 'skip', this many non-finite losses in a row stop the
            run (a diverged model, not a transient); default 20.
    """
    priority = 'VERY_HIGH'
    ACTIONS = ('skip', 'raise')

    def __init__(self, action: str = 'skip', max_consecutive: int = 20):
        if action not in self.ACTIONS:
            raise ValueError(f'FiniteLossHook: action must be one of {self.ACTIONS}, '
                             f'got {action!r}')
        if not isinstance(max_consecutive, int) or max_consecutive < 1:
            raise ValueError(f'FiniteLossHook: max_consecutive must be a positive int, got '
                             f'{max_consecutive!r}')
        self.action = action
        self.max_consecutive = max_consecutive
        self._skip_update = False
        self.skipped = 0
        self.consecutive = 0
        self._restore = []

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        parse_losses, update_params = model.parse_losses, runner.optim_wrapper.update_params

        def checked_parse_losses(losses):
            loss, log_vars = parse_losses(losses)
            broken = (~torch.isfinite(loss.detach())).float().reshape(1)
            if get_world_size() > 1:
                torch.distributed.all_reduce(broken, op=torch.distributed.ReduceOp.MAX)
            if broken.item():
                self._on_broken_loss(runner, log_vars)
            else:
                self.consecutive = 0
            return loss, log_vars

        def guarded_update_params(loss, *args, **kwargs):
            if self._skip_update:
                self._skip_update = False
                runner.optim_wrapper.zero_grad()
                return None
            return update_params(loss, *args, **kwargs)

        self._restore = [(owner, name, vars(owner).get(name)) for owner, name in
                         ((model, 'parse_losses'), (runner.optim_wrapper, 'update_params'))]
        model.parse_losses = checked_parse_losses
        runner.optim_wrapper.update_params = guarded_update_params

    def after_train(self, runner) -> None:
        for owner, name, previous in self._restore:
            if previous is None:
                delattr(owner, name)  # the class's method again
            else:
                setattr(owner, name, previous)
        self._restore = []

    def _on_broken_loss(self, runner, log_vars) -> None:
        terms = ', '.join(f'{name}={_scalar(value):.4g}' for name, value in log_vars.items())
        where = f'iteration {runner.iter + 1}'
        if runner.train_loop is not None and hasattr(runner.train_loop, 'max_epochs'):
            where += f' (epoch {runner.epoch + 1})'
        if self.action == 'raise':
            raise FloatingPointError(
                f'non-finite loss at {where}: {terms}. Lower the learning rate, check the '
                f'data of this batch, or use FiniteLossHook(action="skip") to skip such steps')
        self.consecutive += 1
        if self.consecutive >= self.max_consecutive:
            raise FloatingPointError(
                f'non-finite loss at {where}: {terms}; the last {self.consecutive} losses in '
                f'a row were non-finite (FiniteLossHook max_consecutive={self.max_consecutive}'
                f' in custom_hooks), so the model has diverged: lower the learning rate or '
                f'resume from an earlier checkpoint')
        self._skip_update = True
        self.skipped += 1
        runner.message_hub.update_scalar('train/nonfinite_skipped', self.skipped)
        print_log(f'non-finite loss at {where}: {terms}; this update is skipped '
                  f'({self.skipped} so far, {self.consecutive} in a row of at most '
                  f'{self.max_consecutive})', logger='current', level=30)


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """A terminal progress bar over all training iterations with the loss and the ETA
    (tqdm), for interactive runs, drawn by rank 0 only; mmengine's LoggerHook keeps writing
    the log as usual."""
    priority = 'LOW'

    def __init__(self, desc: str = 'train'):
        self.desc = desc
        self._bar = None

    def before_train(self, runner) -> None:
        if get_rank() != 0:
            return
        from tqdm import tqdm
        self._bar = tqdm(total=runner.max_iters, initial=runner.iter, desc=self.desc,
                         unit='it', dynamic_ncols=True)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._bar is None:
            return
        if outputs and 'loss' in outputs:
            self._bar.set_postfix(loss=f"{_scalar(outputs['loss']):.3f}", refresh=False)
        self._bar.update(1)

    def after_train(self, runner) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
