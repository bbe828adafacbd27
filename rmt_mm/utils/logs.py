"""Reading what mmengine logged in a work dir: one reader for every tool and test.

mmengine writes each run into a timestamped folder of the work dir (``20260101_120000/``),
its scalars as JSON lines in ``<run>/vis_data/scalars.json`` (training rows with ``loss``,
``lr`` and ``iter``; validation rows with the metrics and ``step``), and a test run's
results in ``<run>/<run>.json``.
"""
import glob
import json
import os.path as osp
import re

RUN_DIR = re.compile(r'\d{8}_\d{6}')  # mmengine's timestamped folder of one run


def run_dirs(work_dir: str) -> list[str]:
    """The run folders of a work dir, oldest first."""
    return sorted(d for d in glob.glob(osp.join(work_dir, '*'))
                  if osp.isdir(d) and RUN_DIR.fullmatch(osp.basename(d)))


def scalars_file(run_dir: str) -> str:
    return osp.join(run_dir, 'vis_data', 'scalars.json')


def read_scalars(path: str) -> list[dict]:
    """Every row of a ``scalars.json`` file, or of all the runs of a work dir in the order
    they ran (a resumed run continues its predecessor). Raises FileNotFoundError when a
    work dir has none."""
    if osp.isfile(path):
        files = [path]
    else:
        files = [f for f in map(scalars_file, run_dirs(path)) if osp.isfile(f)]
        if not files:
            raise FileNotFoundError(f'{path}: no <timestamp>/vis_data/scalars.json (is it an '
                                    f'mmengine work dir?)')
    rows = []
    for file in files:
        with open(file) as f:
            rows += [json.loads(line) for line in f if line.strip().startswith('{')]
    return rows
