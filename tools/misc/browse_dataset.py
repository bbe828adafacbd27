"""Draw what the data pipeline feeds the model: images after every transform, with their
ground truth (boxes and masks, class maps, labels).

    python tools/misc/browse_dataset.py CONFIG [--split train|val|test] [--num 8]
        [--output-dir work_dirs/browse_dataset] [--cfg-options ...]

Writes one picture per sample and ``grid.png`` with all of them.
"""
import argparse
import os
import os.path as osp

from rmt_mm.apis.cli import default_output


def parse_args(argv=None):
    from rmt_mm.apis.cli import add_cfg_options, add_output_dir_argument
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--num', type=int, default=8, help='number of samples')
    add_output_dir_argument(parser, default_output('browse_dataset'))
    add_cfg_options(parser)
    return parser.parse_args(argv)


def to_rgb_image(inputs):
    """The packed (C, H, W) input tensor as an RGB HxWx3 uint8 array (loaders give BGR)."""
    import numpy as np
    image = inputs.permute(1, 2, 0).cpu().numpy()
    image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[..., ::-1])


def main(argv=None):
    args = parse_args(argv)
    import mmcv
    from mmengine.registry import DATASETS, init_default_scope

    from rmt_mm.apis import check_data_paths, load_config
    from rmt_mm.utils.visualization import build_drawer, draw_sample, tile
    cfg = load_config(args.config, args.cfg_options)
    loader = f'{args.split}_dataloader'
    check_data_paths(cfg, (loader, ))
    init_default_scope(cfg.default_scope)
    dataset = DATASETS.build(cfg[loader].dataset)
    drawer = build_drawer(cfg.default_scope, dataset.metainfo)
    os.makedirs(args.output_dir, exist_ok=True)
    pictures = []
    for index in range(min(args.num, len(dataset))):
        item = dataset[index]
        sample = item['data_samples']
        image = to_rgb_image(item['inputs'])
        drawn = draw_sample(drawer, cfg.default_scope, image, sample, draw_gt=True)
        name = osp.splitext(osp.basename(sample.img_path))[0]
        mmcv.imwrite(drawn[..., ::-1], osp.join(args.output_dir, f'{index:03d}_{name}.png'))
        pictures.append(drawn)
    mmcv.imwrite(tile(pictures, cols=4)[..., ::-1], osp.join(args.output_dir, 'grid.png'))
    print(f'{len(pictures)} {args.split} samples of {len(dataset)} after the pipeline -> '
          f'{args.output_dir}/ (grid.png)')


if __name__ == '__main__':
    main()
