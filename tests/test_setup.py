"""tools/detect_cuda.sh and tools/build_mmcv.sh: the decisions setup_env.sh takes on a GPU
machine, exercised here with a stand-in nvidia-smi (no GPU on the test machines)."""
import os
import subprocess
import sys

import pytest

from helpers import REPO


def _bash(script, *args, env_extra=None, path_first=None):
    env = {k: v for k, v in os.environ.items() if k not in ('RMT_CUDA', 'RMT_NVCC', 'CUDA_HOME')}
    env.update(env_extra or {})
    if path_first:
        env['PATH'] = f'{path_first}{os.pathsep}{env["PATH"]}'
    return subprocess.run(['bash', os.path.join(REPO, 'tools', script), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def _fake_nvidia_smi(folder):
    """An nvidia-smi that lists one H100 with an old driver."""
    folder.mkdir()
    smi = folder / 'nvidia-smi'
    smi.write_text('#!/bin/sh\ncase "$*" in\n  *driver_version*) echo 535.104.05 ;;\n'
                   '  *) echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)" ;;\nesac\n')
    smi.chmod(0o755)
    return folder


def test_gpus_that_torch_cannot_use_stop_the_setup_with_what_to_do(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip('torch sees a GPU here')
    run = _bash('detect_cuda.sh', sys.executable, path_first=_fake_nvidia_smi(tmp_path / 'bin'))
    assert run.returncode == 3 and run.stdout == ''
    assert 'lists 1 GPU(s) (driver 535.104.05)' in run.stderr
    assert 'RMT_TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128' in run.stderr
    assert 'RMT_CUDA=0' in run.stderr


def test_cuda_choice_without_gpus(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip('torch sees a GPU here')
    empty = tmp_path / 'empty'
    empty.mkdir()
    # No nvidia-smi at all: CPU ops; the user's choice always wins.
    plain = _bash('detect_cuda.sh', sys.executable, env_extra=dict(PATH=f'{empty}:/usr/bin:/bin'))
    assert (plain.returncode, plain.stdout) == (0, '0\n'), plain.stderr
    forced = _bash('detect_cuda.sh', sys.executable, env_extra=dict(RMT_CUDA='1'),
                   path_first=_fake_nvidia_smi(tmp_path / 'bin'))
    assert forced.stdout == '1\n'


def test_cuda_build_takes_only_a_compiler_of_torchs_cuda_version(tmp_path):
    """A system nvcc of another CUDA version is passed over (saying so); with RMT_NVCC=system
    there is then nothing to build with, and the error says which version is needed."""
    import torch
    if not torch.version.cuda:
        pytest.skip('a CPU build of torch')
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'nvcc').write_text('#!/bin/sh\necho "Cuda compilation tools, release 11.8, '
                                  'V11.8.89"\n')
    (bin_dir / 'nvcc').chmod(0o755)
    run = _bash('build_mmcv.sh', sys.executable, str(tmp_path / 'dist'),
                env_extra=dict(RMT_CUDA='1', RMT_NVCC='system'), path_first=bin_dir)
    assert run.returncode == 1
    assert f'ignoring {bin_dir}/nvcc: CUDA 11.8, torch was built with CUDA ' \
        f'{torch.version.cuda}' in run.stdout
    assert f'RMT_NVCC=system but no nvcc of CUDA {torch.version.cuda} was found' in run.stderr
