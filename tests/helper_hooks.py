"""Hooks the tests add to training runs through ``custom_imports``: a stand-in for a job
killed on a cluster, and a resident-memory probe."""
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class KillSwitchHook(Hook):
    """SIGKILL the training process right after the given iteration or epoch."""
    priority = 'LOWEST'  # after the CheckpointHook has written its file

    def __init__(self, after_iter=None, after_epoch=None):
        self.after_iter, self.after_epoch = after_iter, after_epoch

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.after_iter is not None and runner.iter + 1 == self.after_iter:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_train_epoch(self, runner):
        if self.after_epoch is not None and runner.epoch + 1 == self.after_epoch:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class ResidentMemoryHook(Hook):
    """Print ``rss@ITER=BYTES`` (the main process's resident set) every ``every`` iterations."""

    def __init__(self, every=50):
        self.every = every

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if (runner.iter + 1) % self.every == 0:
            with open('/proc/self/status') as f:
                kib = next(int(line.split()[1]) for line in f if line.startswith('VmRSS'))
            print(f'rss@{runner.iter + 1}={kib * 1024}', flush=True)
