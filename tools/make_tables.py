"""Collect runs into the paper's tables: final metrics, params, FLOPs (and speed), with the
paper's numbers side by side, as Markdown and LaTeX.

    python tools/make_tables.py WORK_DIR[=MODEL] [...] [--flops] [--out tables]

Each WORK_DIR is a training or test work dir of tools/train.py / tools/test.py (the config
mmengine saved there, the metrics of its last evaluation). MODEL names the paper row (a
``Name`` in model-index.yml, e.g. ``mask_rcnn_rmt_t_fpn_1x_coco``); without it the saved
config's file name is tried. ``--flops`` counts FLOPs at the paper's input size (slow for
detectors: minutes on a CPU). A ``benchmark.json`` in a work dir (written by
tools/analysis_tools/benchmark.py --out) adds its images per second.
"""
import argparse
import glob
import json
import os.path as osp

from rmt_mm.apis.analysis import complexity, count_params
from rmt_mm.apis.cli import default_output, prepare_output
from rmt_mm.utils.tasks import TASKS, get_task

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
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


def last_metrics(work_dir: str, keys: list[str]) -> dict:
    """The metrics of the last evaluation logged in the work dir (val or test)."""
    rows = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')) +
                       glob.glob(osp.join(work_dir, '*', '*.json'))):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith('{'):
                    row = json.loads(line)
                    if any(k in row for k in keys):
                        rows.append((osp.getmtime(path), row))
    if not rows:
        raise ValueError(f'{work_dir}: no evaluation logged any of {keys}')
    return max(rows, key=lambda r: r[0])[1]


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
    metrics = last_metrics(work_dir, [k for k, _, _ in task.metrics])
    row = dict(name=name, work_dir=work_dir, scope=scope, paper=papers.get(name),
               results={col: metrics[k] * scale for k, col, scale in task.metrics
                        if k in metrics})
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
                cells += [_fmt(r['results'].get(col)),
                          _fmt(paper.get('metrics', {}).get(PAPER_METRICS[col]))]
            if header[-1] == 'img/s':
                cells.append(_fmt(r.get('fps')))
            body.append(cells)
        out[scope] = (header, body)
    return out


def to_markdown(grouped) -> str:
    parts = []
    for scope, (header, body) in grouped.items():
        parts.append(f'### {get_task(scope).title}\n')
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
        parts += [r'\begin{table}[t]', r'\centering', f'\\caption{{{get_task(scope).title}}}',
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
    parser.add_argument('--out', default=default_output('tables'),
                        help='writes OUT.md and OUT.tex')
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
