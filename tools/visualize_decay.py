"""Pictures of RMT's spatial prior: MaSA's decay around a query token, per stage and head.

    python tools/visualize_decay.py --arch s --shape 224 224 --output-dir work_dirs/decay_maps
    python tools/visualize_decay.py --config configs/det/mask_rcnn_rmt_s_fpn_1x_coco.py \\
        --checkpoint work_dirs/.../epoch_12.pth --shape 800 1216 --query 0.5 0.5

For every stage it draws, per head, the Manhattan decay gamma^(|dr| + |dc|) around the query
(the prior of the full form) and the receptive field of the decomposed form: attention along
W inside each row, then along H, each with its 1-D decay alone (no content), which spreads
the query's weight over the whole plane as the product of the two normalised 1-D priors. The
stage's own form is marked. Writes one PNG per stage and ``decay_overview.png``.
"""
import argparse
import os
import os.path as osp

import torch

from rmt_mm.apis.cli import add_output_dir_argument, add_shape_argument, default_output


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='t', help='RMT variant when no config is given')
    parser.add_argument('--config', help='a config with an RMT backbone')
    parser.add_argument('--checkpoint', help='weights for the backbone (its Relpos buffers)')
    add_shape_argument(parser, [224, 224], 'input height and width; stages are 1/4 .. 1/32 '
                       'of it')
    parser.add_argument('--query', type=float, nargs=2, default=[0.5, 0.5], metavar=('Y', 'X'),
                        help='query position as a fraction of the feature map')
    add_output_dir_argument(parser, default_output('decay_maps'))
    return parser.parse_args(argv)


def build_backbone(args):
    from rmt_mm.models import RMT
    if args.config:
        from rmt_mm.apis import load_config
        cfg = load_config(args.config)
        backbone_cfg = {k: v for k, v in cfg.model.backbone.items() if k != 'type'}
        backbone_cfg.pop('init_cfg', None)
        backbone = RMT(**backbone_cfg)
    else:
        backbone = RMT(arch=args.arch)
    if args.checkpoint:
        from rmt_mm.models.checkpoint import load_backbone_checkpoint
        load_backbone_checkpoint(backbone, args.checkpoint)
    return backbone


def stage_sizes(height, width):
    sizes = []
    for i in range(4):
        for _ in range(2 if i == 0 else 1):
            height, width = (height - 1) // 2 + 1, (width - 1) // 2 + 1
        sizes.append((height, width))
    return sizes


def prior_maps(decay: torch.Tensor, height: int, width: int, qy: int, qx: int):
    """(n, H, W) Manhattan decay and (n, H, W) decomposed receptive field around (qy, qx)."""
    rows = torch.arange(height, dtype=torch.float64)
    cols = torch.arange(width, dtype=torch.float64)
    decay = decay.double()[:, None]
    dist_r, dist_c = (rows - qy).abs(), (cols - qx).abs()
    manhattan = torch.exp(decay[..., None] * (dist_r[None, :, None] + dist_c[None, None, :]))
    along_w = torch.softmax(decay * dist_c, dim=-1)  # (n, W): weights of row tokens
    along_h = torch.softmax(decay * dist_r, dim=-1)  # (n, H): weights of rows
    decomposed = along_h[:, :, None] * along_w[:, None, :]
    return manhattan.numpy(), decomposed.numpy()


def main(argv=None):
    args = parse_args(argv)
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    backbone = build_backbone(args)
    os.makedirs(args.output_dir, exist_ok=True)
    sizes = stage_sizes(*args.shape)
    overview = []
    for i, (stage, (height, width)) in enumerate(zip(backbone.layers, sizes)):
        decay = stage.Relpos.decay
        qy = min(int(args.query[0] * height), height - 1)
        qx = min(int(args.query[1] * width), width - 1)
        manhattan, decomposed = prior_maps(decay, height, width, qy, qx)
        form = 'decomposed' if stage.blocks[0].retention.decomposed else 'full'
        heads = decay.numel()
        fig, axes = plt.subplots(2, heads, figsize=(1.8 * heads + 1, 4.2), squeeze=False)
        for h in range(heads):
            gamma = float(torch.exp(decay[h]))
            for row, (maps, title) in enumerate(((manhattan, 'Manhattan decay'),
                                                 (decomposed, 'W then H'))):
                ax = axes[row][h]
                ax.imshow(maps[h], cmap='magma', interpolation='nearest')
                ax.plot(qx, qy, marker='+', color='cyan', markersize=8)
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(f'head {h}\nγ={gamma:.3f}', fontsize=8)
                if h == 0:
                    ax.set_ylabel(title + (' *' if (form == 'full') == (row == 0) else ''),
                                  fontsize=8)
        fig.suptitle(f'stage {i}: {height}x{width} tokens, {form} MaSA (* = used here), '
                     f'query ({qy}, {qx})', fontsize=9)
        fig.tight_layout()
        path = osp.join(args.output_dir, f'decay_stage{i}.png')
        fig.savefig(path, dpi=110)
        plt.close(fig)
        overview.append((i, manhattan[0], manhattan[-1], (qy, qx), form))
        print(f'stage {i}: {path}')

    fig, axes = plt.subplots(2, 4, figsize=(11, 5.5))
    for i, first, last, (qy, qx), form in overview:
        for row, (maps, label) in enumerate(((first, 'first head'), (last, 'last head'))):
            axes[row][i].imshow(maps, cmap='magma', interpolation='nearest')
            axes[row][i].plot(qx, qy, marker='+', color='cyan')
            axes[row][i].set_title(f'stage {i} ({form}), {label}', fontsize=8)
            axes[row][i].axis('off')
    fig.suptitle('Manhattan spatial decay around the query, slowest and fastest head')
    fig.tight_layout()
    path = osp.join(args.output_dir, 'decay_overview.png')
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f'overview: {path}')


if __name__ == '__main__':
    main()
