"""Plot training curves (loss, lr, any metric) of one or more runs into a PNG.

    python tools/analysis_tools/analyze_logs.py WORK_DIR_OR_SCALARS_JSON [...]
        [--keys loss lr coco/bbox_mAP] [--out work_dirs/analyze_logs/curves.png] [--legend NAME ...]

Reads mmengine's ``vis_data/scalars.json`` (every timestamped run inside a work dir, in
order, so resumed runs continue their curve). Without --keys: the loss, the learning rate
and every validation metric found. Training curves are plotted against the iteration,
validation metrics against the step mmengine logged them at (epoch or iteration).
"""
import argparse
import os.path as osp

from rmt_mm.apis.cli import add_out_argument, default_output, prepare_output
from rmt_mm.utils.logs import read_scalars

TRAIN_ONLY = ('data_time', 'time', 'memory', 'epoch', 'iter', 'step')


def curves(rows: list[dict], keys=None) -> dict[str, list[tuple]]:
    """{key: [(x, value), ...]}: training rows by iteration, validation rows by step."""
    found: dict[str, list[tuple]] = {}
    for row in rows:
        is_train = 'loss' in row or 'lr' in row
        x = row.get('iter', row.get('step')) if is_train else row.get('step')
        for key, value in row.items():
            if key in TRAIN_ONLY or not isinstance(value, (int, float)):
                continue
            if keys is None and is_train and key not in ('loss', 'lr'):
                continue
            if keys is not None and key not in keys:
                continue
            points = found.setdefault(key, [])
            points[:] = [p for p in points if p[0] != x]  # a resumed run overwrites
            points.append((x, value))
    return {k: sorted(v) for k, v in found.items()}


def plot(runs: dict[str, dict[str, list[tuple]]], out: str, keys=None):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = keys or sorted({k for c in runs.values() for k in c},
                          key=lambda k: (k != 'loss', k != 'lr', k))
    if not keys:
        raise ValueError('nothing to plot: none of the runs logged the requested keys')
    cols = min(3, len(keys))
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for name, run in runs.items():
            if key in run:
                xs, ys = zip(*run[key])
                ax.plot(xs, ys, marker='o' if len(xs) < 20 else None, label=name)
        ax.set_title(key)
        ax.set_xlabel('iteration' if key in ('loss', 'lr') or key.startswith('loss')
                      else 'step')
        ax.grid(alpha=0.3)
        if key == 'lr':
            ax.ticklabel_format(axis='y', style='sci', scilimits=(0, 0))
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis('off')
    fig.tight_layout()
    fig.savefig(prepare_output(out), dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('runs', nargs='+', help='work dirs or scalars.json files')
    parser.add_argument('--keys', nargs='+', help='scalars to plot (default: loss, lr and '
                        'the validation metrics)')
    parser.add_argument('--legend', nargs='+', help='one name per run (default: folder)')
    add_out_argument(parser, default_output('analyze_logs', 'curves.png'), help='output PNG')
    args = parser.parse_args(argv)
    names = args.legend or [osp.basename(osp.normpath(r)) for r in args.runs]
    if len(names) != len(args.runs):
        raise ValueError(f'--legend has {len(names)} names for {len(args.runs)} runs')
    runs = {name: curves(read_scalars(path), args.keys) for name, path in zip(names, args.runs)}
    plot(runs, args.out, args.keys)
    keys = sorted({k for c in runs.values() for k in c})
    print(f'{len(runs)} run(s), curves {keys} -> {args.out}')


if __name__ == '__main__':
    main()
