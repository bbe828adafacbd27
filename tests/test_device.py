"""rmt_mm.apis.device: what in a config needs a GPU, and --device cpu adapting it."""
import os
import os.path as osp

from helpers import REPO


def test_device_cpu_adapts_what_needs_a_gpu(monkeypatch):
    from mmengine.config import Config

    from rmt_mm.apis import gpu_requirements, prepare_device
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'seg',
                                   'upernet_rmt_s_160k_ade20k_512x512.py'))
    cfg.launcher = 'pytorch'
    assert gpu_requirements(cfg) == [
        'SyncBN (model.backbone.norm_cfg and 2 more)',
        'mixed precision (optim_wrapper.type=AmpOptimWrapper)',
        'fp16 evaluation (val_cfg.fp16=True)', 'fp16 evaluation (test_cfg.fp16=True)',
        'distributed training over NCCL (env_cfg.dist_cfg.backend=nccl)']
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0')  # restored after the test
    prepare_device(cfg, 'cpu')
    assert os.environ['CUDA_VISIBLE_DEVICES'] == ''
    assert gpu_requirements(cfg) == []
    assert cfg.model.backbone.norm_cfg.type == 'BN' and cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.optim_wrapper.type == 'OptimWrapper'
