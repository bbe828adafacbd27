"""rmt_mm.engine.hooks: FiniteLossHook skips, counts, logs and stops on non-finite losses."""
import glob
import os.path as osp

import pytest
import torch

from helpers import TINY_ARCH


def _runner_with_loss(tmp_path, losses, **hook_args):
    """A real mmengine Runner on a tiny RMT classifier whose loss follows ``losses``, one
    iteration per value."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    from rmt_mm.models import RMT

    class Model(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = RMT(arch=TINY_ARCH, out_indices=(3, ), drop_path_rate=0.0)
            self.calls = 0

        def forward(self, inputs, labels=None, mode='tensor'):
            feats = self.backbone(inputs)[0].mean()
            value = losses[min(self.calls, len(losses) - 1)]
            self.calls += 1
            return dict(loss_main=feats * value, loss_aux=feats.abs() * 0.1)

    data = [dict(inputs=torch.randn(3, 32, 32), labels=0) for _ in range(2 * len(losses))]
    return Runner(
        model=Model(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=2, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=len(losses)),
        custom_hooks=[dict(type='rmt_mm.FiniteLossHook', **hook_args)],
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmengine')


def _hook(runner):
    return [h for h in runner.hooks if type(h).__name__ == 'FiniteLossHook'][0]


def test_transient_nonfinite_losses_are_skipped_counted_and_logged(tmp_path):
    """The default: each non-finite loss skips its update (the weights stay finite) and the
    run goes on; the count is logged; a finite loss resets the run of them."""
    nan, inf = float('nan'), float('inf')
    runner = _runner_with_loss(tmp_path, [1.0, nan, inf, 1.0, nan, inf, 1.0],
                               max_consecutive=3)
    runner.train()
    assert runner.iter == 7 and _hook(runner).skipped == 4
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    assert runner.message_hub.get_scalar('train/nonfinite_skipped').current() == 4
    log = open(glob.glob(osp.join(str(tmp_path), '*', '*.log'))[0]).read()
    assert 'non-finite loss at iteration 2' in log and 'loss_main=nan' in log
    assert 'this update is skipped (1 so far, 1 in a row of at most 3)' in log
    # The wrappers last as long as the training: afterwards the model and the optimizer
    # wrapper have their own methods again.
    assert 'parse_losses' not in vars(runner.model)
    assert 'update_params' not in vars(runner.optim_wrapper)


def test_a_run_of_nonfinite_losses_stops_naming_the_bound(tmp_path):
    nan = float('nan')
    runner = _runner_with_loss(tmp_path, [1.0, nan, nan, nan, 1.0], max_consecutive=3)
    with pytest.raises(FloatingPointError, match=r'non-finite loss at iteration 4.*the last '
                       r'3 losses in a row .*max_consecutive=3 in custom_hooks'):
        runner.train()
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


def test_action_raise_stops_at_the_first_with_the_iteration_and_the_terms(tmp_path):
    runner = _runner_with_loss(tmp_path, [1.0, 1.0, float('nan'), 1.0], action='raise')
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert 'iteration 3' in message and 'loss_main=nan' in message and 'loss_aux=' in message
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    with pytest.raises(ValueError, match="action must be one of"):
        _runner_with_loss(tmp_path, [1.0], action='ignore')
    with pytest.raises(ValueError, match="max_consecutive must be a positive int"):
        _runner_with_loss(tmp_path, [1.0], max_consecutive=0)
