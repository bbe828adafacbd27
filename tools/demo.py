"""Run a classifier, detector or segmentor on one image and draw what it predicts.

    python tools/demo.py IMAGE CONFIG CHECKPOINT [--out FILE] [--device cpu|cuda:0]
        [--score-thr 0.3] [--topk 5]

Detection: boxes, masks, class names and scores. Segmentation: the class map over the image
with a legend of the classes present. Classification: the top-k classes with their scores.
The config's default_scope decides the task.
"""
import argparse
import os.path as osp

from rmt_mm.apis.cli import default_output, prepare_output


def parse_args(argv=None):
    from rmt_mm.apis.cli import add_device_argument, add_out_argument, resolve_device
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_out_argument(parser, help='output picture (default: work_dirs/demo/IMAGE_NAME_pred.png)')
    add_device_argument(parser)
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: box score '
                        'threshold')
    parser.add_argument('--topk', type=int, default=5, help='classification: classes shown')
    args = parser.parse_args(argv)
    args.device = resolve_device(args.device)
    return args


def main():
    args = parse_args()
    import mmcv

    from rmt_mm.apis import check_checkpoint_path, load_config
    from rmt_mm.utils.tasks import get_task
    from rmt_mm.utils.visualization import build_drawer, draw_sample
    if not osp.isfile(args.image):
        raise FileNotFoundError(f'image {args.image} does not exist')
    check_checkpoint_path(args.checkpoint, 'checkpoint')
    cfg = load_config(args.config)
    device = args.device
    # The task library's own inference API.
    model, sample = get_task(cfg).predict(cfg, args.checkpoint, args.image, device)

    meta = dict(model.dataset_meta or {})
    if not meta.get('classes'):
        raise ValueError(f'{args.checkpoint} carries no class names (meta.dataset_meta) and '
                         f'{args.config} gives none: cannot name the predictions')
    drawer = build_drawer(cfg.default_scope, meta)
    image = mmcv.imread(args.image, channel_order='rgb')
    drawn = draw_sample(drawer, cfg.default_scope, image, sample, draw_gt=False,
                        score_thr=args.score_thr, topk=args.topk)
    out = prepare_output(args.out or default_output(
        'demo', osp.splitext(osp.basename(args.image))[0] + '_pred.png'))
    mmcv.imwrite(drawn[..., ::-1], out)
    print(f'predictions of {osp.basename(args.checkpoint)} on {args.image} -> {out} '
          f'({drawn.shape[1]}x{drawn.shape[0]})')


if __name__ == '__main__':
    main()
