"""Collect runs into the paper's tables: final metrics, params, FLOPs (and speed), with the
paper's numbers side by side, as Markdown and LaTeX.

    python tools/make_tables.py WORK_DIR[=MODEL] [...] [--flops] [--out tables]

Each WORK_DIR is a training or test work dir of tools/train.py / tools/test.py (the config
mmengine saved there and every evaluation logged there, resumed runs included). A cell follows
the paper's convention and says which evaluation it is: ImageNet the best epoch of the trained
or the EMA weights, COCO and ADE20K the last evaluation (with the best, when higher). MODEL
names the paper row (a ``Name`` in model-index.yml, e.g. ``mask_rcnn_rmt_t_fpn_1x_coco``);
without it the saved config's file name is tried. ``--flops`` counts FLOPs at the paper's
input size (slow for detectors: minutes on a CPU). A ``benchmark.json`` in a work dir
(written by tools/analysis_tools/benchmark.py --out) adds its images per second.
"""
import argparse
import glob
import json
import os.path as osp

from rmt_mm.apis.analysis import complexity, count_params
from rmt_mm.apis.cli import add_out_argument, default_output, prepare_output
from rmt_mm.utils.logs import read_scalars, run_dirs, scalars_file
from rmt_mm.utils.tasks import TASKS, get_task

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# How the paper reports each task, and so how a run's cell is chosen: the official ImageNet
# numbers are the best epoch of the trained or the EMA weights (configs/cls/README.md), the
# COCO and ADE20K numbers the final model's.
CONVENTION = {'cls': 'best', 'det': 'last', 'seg': 'last'}
CAPTIONS = {
    'best': 'the best evaluation of the trained or the EMA weights (the official convention); '
            'in brackets which weights and when',
    'last': 'the last evaluation (the paper\'s convention); in brackets the best one, when an '
            'earlier evaluation was higher',
}
# our column -> the metric's name in model-index.yml (the paper's results)
PAPER_METRICS = {'top-1': 'Top 1 Accuracy', 'box AP': 'box AP', 'mask AP': 'mask AP',
                 'mIoU': 'mIoU'}


def paper_rows() -> dict[str, dict]:
    """Every model of model-index.yml by name: its config, params, FLOPs and metrics."""
    from mmengine.fileio import load
    rows = {}
    for metafile in load(osp.join(REPO, 'model-index.yml'))['Import']:
        for model in load(osp.join(REPO, metafile))['Models']:
            metrics = {}
            for result in model.get('Results') or []:
                metrics.update(result['Metrics'])
            rows[model['Name']] = dict(config=model['Config'], metrics=metrics,
                                       params=model['Metadata'].get('Parameters'),
                                       flops=model['Metadata'].get('FLOPs'))
    return rows


def saved_config(work_dir: str) -> str:
    configs = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    if not configs:
        raise FileNotFoundError(f'{work_dir}: no saved config (*.py); is it a work dir of '
                                f'tools/train.py or tools/test.py?')
    return configs[-1]


def evaluations(work_dir: str, keys: list[str]) -> list[dict]:
    """Every evaluation logged in a work dir that reports any of ``keys``, oldest first.

    Each is ``dict(metrics, step, kind)``: the validations of training runs (``kind='val'``,
    ``step`` the epoch or iteration mmengine logged it at) and the results of test runs
    (``kind='test'``, ``step=None``). Runs are read in the order of their timestamped
    folders; a step validated again by a later run (a resume from an earlier checkpoint)
    keeps only the later result.
    """
    found = []
    for run in run_dirs(work_dir):
        scalars = scalars_file(run)
        if osp.isfile(scalars):
            for row in read_scalars(scalars):
                if 'step' in row and any(k in row for k in keys):
                    found = [e for e in found if e['kind'] != 'val' or e['step'] != row['step']]
                    found.append(dict(metrics=row, step=row['step'], kind='val'))
        test = osp.join(run, osp.basename(run) + '.json')  # mmengine's test-run results
        if osp.isfile(test):
            with open(test) as f:
                row = json.load(f)
            if any(k in row for k in keys):
                found.append(dict(metrics=row, step=None, kind='test'))
    if not found:
        raise ValueError(f'{work_dir}: no evaluation logged any of {keys} (looked in '
                         f'<timestamp>/vis_data/scalars.json and <timestamp>/<timestamp>.json)')
    return found


def _where(evaluation: dict, unit: str) -> str:
    return 'test' if evaluation['kind'] == 'test' else f"{unit} {evaluation['step']}"


def best_of(found: list[dict], key: str, unit: str, labels: dict[str, str]):
    """(value, where) of the best evaluation of ``key`` or of its variants (``labels``: key
    prefix -> what it is, e.g. ``{'': 'trained', 'ema/': 'EMA'}``): ``(0.824, 'EMA, epoch
    287')``."""
    candidates = [(e['metrics'][prefix + key], label, e) for e in found
                  for prefix, label in labels.items() if prefix + key in e['metrics']]
    if not candidates:
        return None
    value, label, evaluation = max(candidates, key=lambda c: c[0])
    if evaluation['kind'] == 'test':  # a tested checkpoint: which weights it holds is its own
        return value, 'test'
    return value, f'{label}, {_where(evaluation, unit)}'


def last_and_best(found: list[dict], key: str, unit: str):
    """(last value, best value, where the best was) of ``key``."""
    reported = [e for e in found if key in e['metrics']]
    if not reported:
        return None
    best = max(reported, key=lambda e: e['metrics'][key])
    return reported[-1]['metrics'][key], best['metrics'][key], _where(best, unit)


def step_unit(cfg) -> str:
    """'epoch' or 'iter': what mmengine logged validations by in a run of this config."""
    logger = (cfg.get('default_hooks') or {}).get('logger') or {}
    by_epoch = 'Epoch' in str((cfg.get('train_cfg') or {}).get('type', 'EpochBased')) or \
        (cfg.get('train_cfg') or {}).get('by_epoch', False)
    return 'epoch' if by_epoch and logger.get('log_metric_by_epoch', True) else 'iter'


def collect(spec: str, papers: dict[str, dict], flops: bool) -> dict:
    from mmengine.config import Config
    work_dir, _, name = spec.partition('=')
    config = saved_config(work_dir)
    cfg = Config.fromfile(config)
    scope = cfg.default_scope
    name = name or osp.splitext(osp.basename(config))[0]
    if name not in papers and spec.count('='):
        raise ValueError(f'{name!r} is not a model of model-index.yml; known: '
                         f'{sorted(papers)}')
    task = get_task(scope)
    found = evaluations(work_dir, [k for k, _, _ in task.metrics])
    unit = step_unit(cfg)
    results = {}
    for key, col, scale in task.metrics:
        if CONVENTION[task.name] == 'best':
            best = best_of(found, key, unit, {'': 'trained', 'ema/': 'EMA'})
            if best:
                results[col] = f'{best[0] * scale:.1f} ({best[1]})'
        else:
            summary = last_and_best(found, key, unit)
            if summary:
                last, best, where = summary
                results[col] = f'{last * scale:.1f}' + (
                    f' (best {best * scale:.1f}, {where})' if best > last else '')
    row = dict(name=name, work_dir=work_dir, scope=scope, paper=papers.get(name),
               results=results)
    if flops:  # builds the model once for both figures
        result = complexity(config)
        row['params'] = result['params']
        # The paper's convention: fvcore for classifiers, hook-based (no attention products)
        # for detectors and segmentors.
        row['flops'] = (result['flops'] if scope == 'mmpretrain'
                        else result['flops_without_attention'])
    else:
        row['params'] = count_params(config)
    bench = osp.join(work_dir, 'benchmark.json')
    if osp.isfile(bench):
        with open(bench) as f:
            row['fps'] = json.load(f)['fps']
    return row


def _fmt(value: float | None, digits: int = 1) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def tables(rows: list[dict]):
    """{scope: (header, [[cell, ...], ...])}: ours next to the paper's, per task."""
    out = {}
    for scope in TASKS:  # the table's order: cls, det, seg
        group = [r for r in rows if r['scope'] == scope]
        if not group:
            continue
        columns = [col for _, col, _ in get_task(scope).metrics]
        header = ['model', 'params (M)', 'paper params (M)', 'FLOPs (G)', 'paper FLOPs (G)']
        for col in columns:
            header += [col, f'paper {col}']
        if any('fps' in r for r in group):
            header.append('img/s')
        body = []
        for r in group:
            paper = r['paper'] or {}
            cells = [r['name'], _fmt(r['params'] / 1e6, 2),
                     _fmt(paper['params'] / 1e6 if paper.get('params') else None, 2),
                     _fmt(r['flops'] / 1e9 if r.get('flops') else None),
                     _fmt(paper['flops'] / 1e9 if paper.get('flops') else None)]
            for col in columns:
                cells += [r['results'].get(col, '-'),
                          _fmt(paper.get('metrics', {}).get(PAPER_METRICS[col]))]
            if header[-1] == 'img/s':
                cells.append(_fmt(r.get('fps')))
            body.append(cells)
        out[scope] = (header, body)
    return out


def to_markdown(grouped) -> str:
    parts = []
    for scope, (header, body) in grouped.items():
        task = get_task(scope)
        parts.append(f'### {task.title}\n')
        parts.append(f'Measured: {CAPTIONS[CONVENTION[task.name]]}.\n')
        parts.append('| ' + ' | '.join(header) + ' |')
        parts.append('|' + '---|' * len(header))
        parts += ['| ' + ' | '.join(cells) + ' |' for cells in body]
        parts.append('')
    return '\n'.join(parts)


def to_latex(grouped) -> str:
    parts = []
    for scope, (header, body) in grouped.items():
        def esc(text):
            return str(text).replace('_', r'\_').replace('%', r'\%')
        task = get_task(scope)
        caption = f'{task.title}. Measured: {CAPTIONS[CONVENTION[task.name]]}.'
        parts += [r'\begin{table}[t]', r'\centering', f'\\caption{{{esc(caption)}}}',
                  r'\begin{tabular}{l' + 'r' * (len(header) - 1) + '}', r'\toprule',
                  ' & '.join(esc(h) for h in header) + r' \\', r'\midrule']
        parts += [' & '.join(esc(c) for c in cells) + r' \\' for cells in body]
        parts += [r'\bottomrule', r'\end{tabular}', r'\end{table}', '']
    return '\n'.join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('runs', nargs='+', metavar='WORK_DIR[=MODEL]')
    parser.add_argument('--flops', action='store_true', help="count FLOPs at the paper's "
                        'input size')
    add_out_argument(parser, default_output('tables'), help='writes OUT.md and OUT.tex')
    args = parser.parse_args(argv)
    import rmt_mm  # noqa: F401  (configs of rmt_mm)
    papers = paper_rows()
    rows = [collect(spec, papers, args.flops) for spec in args.runs]
    grouped = tables(rows)
    markdown, latex = to_markdown(grouped), to_latex(grouped)
    with open(prepare_output(args.out + '.md'), 'w') as f:
        f.write(markdown)
    with open(args.out + '.tex', 'w') as f:
        f.write(latex)
    print(markdown)
    print(f'-> {args.out}.md, {args.out}.tex')


if __name__ == '__main__':
    main()
