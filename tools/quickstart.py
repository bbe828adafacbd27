"""Quick start: train RMT-T on a small embedded dataset on CPU and see what it learned.

    bash tools/quickstart.sh [--task det|cls|seg] [--work-dir DIR] [--num-images N]
        [--device cpu|cuda] [--cfg-options key=value ...]

1. checks the stack (versions, mmcv's compiled ops);
2. generates the embedded dataset of the task under data/quickstart/ (shapes with instance
   masks drawn on textures from scikit-image's sample photos; deterministic);
3. evaluates the untrained model, trains the task's config from configs/quickstart/ with a
   progress bar, evaluates again (COCO bbox/segm mAP, top-1 or mIoU) and prints both;
4. writes a picture of predictions next to the ground truth into the work dir.
"""
import argparse
import copy
import os
import os.path as osp
import sys
import time
import warnings

# setuptools' notice about mmengine's use of pkg_resources says nothing to a user here.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

TASKS = {
    'det': dict(config='configs/quickstart/mask_rcnn_rmt_t_fpn_shapes.py',
                metrics=('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'),
                name='Mask R-CNN'),
    'cls': dict(config='configs/quickstart/rmt_t_shapes_cls.py', metrics=('accuracy/top1', ),
                name='ImageNet classifier'),
    'seg': dict(config='configs/quickstart/fpn_rmt_t_shapes_seg.py',
                metrics=('mIoU', 'aAcc'), name='Semantic FPN'),
}
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def say(message: str):
    print(f'[quickstart] {message}', flush=True)


def check_stack():
    import mmcv
    import mmdet
    import mmengine
    import mmpretrain
    import mmseg
    import torch
    from mmcv.ops import RoIAlign, nms  # noqa: F401  (compiled ops)

    import rmt_mm
    say(f'torch {torch.__version__} | mmcv {mmcv.__version__} (ops ok) | mmengine '
        f'{mmengine.__version__} | mmdet {mmdet.__version__} | mmseg {mmseg.__version__} | '
        f'mmpretrain {mmpretrain.__version__} | rmt_mm {rmt_mm.__version__} | '
        f'{torch.get_num_threads()} CPU threads')


# Training images of each task's embedded set (the numbers the README's results are for).
NUM_IMAGES = {'det': 200, 'cls': 160, 'seg': 120}


def make_data(task: str, cfg, num_images: int) -> str:
    """Generate the task's embedded set where the config reads it (again only when the
    number of training images changes)."""
    import shutil

    from rmt_mm import datasets
    root, classes = cfg.data_root, tuple(cfg.classes)
    done = osp.join(root, '.complete')
    if osp.isfile(done) and open(done).read().strip() == str(num_images):
        say(f'embedded data: {root} ({num_images} training images, already generated)')
        return root
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    if task == 'det':
        datasets.make_coco_instance_set(root, classes, num_train=num_images, num_val=40,
                                        size=(128, 160), max_objects=4)
    elif task == 'cls':
        per_class = max(1, num_images // len(classes))
        datasets.make_classification_set(root, num_classes=len(classes), per_class=per_class,
                                         size=64, splits=('train', ), seed=0)
        datasets.make_classification_set(root, num_classes=len(classes), per_class=10,
                                         size=64, splits=('val', ), seed=1)
    else:
        shapes = tuple(c for c in classes if c != 'background')  # label 0: background
        datasets.make_ade_semantic_set(root, shapes, num_train=num_images, num_val=20,
                                       size=(128, 160), max_objects=4)
    with open(done, 'w') as f:
        f.write(str(num_images))
    say(f'embedded data: generated {root} ({num_images} training images) in '
        f'{time.perf_counter() - start:.1f} s')
    return root


def evaluate_untrained(cfg, device: str) -> dict:
    """Metrics of the model as training starts: same config, initialised weights."""
    from rmt_mm.apis import build_runner
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = osp.join(cfg.work_dir, 'untrained')
    runner = build_runner(cfg, mode='test', device=device)
    runner.model.init_weights()
    return runner.test()


def draw_predictions(runner, scope: str, out_file: str, num: int = 6):
    """Predictions of the trained model (next to the ground truth for detection and
    segmentation) for ``num`` val images spread over the set."""
    import mmcv
    import numpy as np
    import torch
    from mmengine.dataset import pseudo_collate

    from rmt_mm.utils.visualization import build_drawer, draw_sample, tile
    dataset = runner.val_loop.dataloader.dataset
    drawer = build_drawer(scope, dataset.metainfo)
    picked = np.linspace(0, len(dataset) - 1, min(num, len(dataset))).round().astype(int)
    runner.model.eval()
    with torch.no_grad():
        samples = runner.model.test_step(pseudo_collate([dataset[i] for i in picked]))
    images = [draw_sample(drawer, scope, mmcv.imread(s.img_path, channel_order='rgb'), s)
              for s in samples]
    canvas = tile(images, cols=2)
    mmcv.imwrite(canvas[..., ::-1], out_file)
    return canvas.shape


def main():
    from rmt_mm.apis.cli import add_cfg_options
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--task', choices=sorted(TASKS), default='det')
    parser.add_argument('--work-dir', help='default: work_dirs/quickstart_<task>')
    parser.add_argument('--num-images', type=int,
                        help=f'training images of the embedded set (default: {NUM_IMAGES}; '
                        'for cls, spread evenly over the classes)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu',
                        help='where to train (default: cpu, what the README\'s figures are for)')
    add_cfg_options(parser)
    args = parser.parse_args()
    if args.num_images is not None and args.num_images < 1:
        parser.error(f'--num-images must be at least 1, got {args.num_images}')
    os.chdir(REPO)  # the configs' data roots are relative to the repository
    begin = time.perf_counter()
    check_stack()

    from rmt_mm.apis import build_runner, load_config
    task = TASKS[args.task]
    cfg = load_config(task['config'], args.cfg_options)
    cfg.work_dir = args.work_dir or osp.join('work_dirs', f'quickstart_{args.task}')
    cfg.log_level = 'WARNING'  # the quick start prints its own summary
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='rmt_mm.ProgressBarHook', desc=f'training RMT-T {task["name"]}')]
    make_data(args.task, cfg, args.num_images or NUM_IMAGES[args.task])

    start = time.perf_counter()
    untrained = evaluate_untrained(cfg, args.device)
    say(f'untrained model evaluated in {time.perf_counter() - start:.0f} s')

    start = time.perf_counter()
    runner = build_runner(cfg, device=args.device)
    runner.train()
    train_time = time.perf_counter() - start
    trained = {k.split('val/', 1)[1]: v.current() for k, v in
               runner.message_hub.log_scalars.items() if k.startswith('val/')}
    say(f'trained {runner.iter} iterations in {train_time / 60:.1f} min')

    picture = osp.join(cfg.work_dir, 'predictions.png')
    shape = draw_predictions(runner, cfg.default_scope, picture)
    say(f'{"metric":<18}{"untrained":>10}{"trained":>10}')
    for metric in task['metrics']:
        if metric in trained:
            say(f'{metric:<18}{untrained.get(metric, float("nan")):>10.3f}'
                f'{trained[metric]:>10.3f}')
    layout = ('true class and top-3 predictions' if args.task == 'cls'
              else 'left: ground truth, right: prediction')
    say(f'predictions ({layout}) -> {picture} ({shape[1]}x{shape[0]})')
    say(f'checkpoint and logs -> {cfg.work_dir}; total {(time.perf_counter() - begin) / 60:.1f}'
        f' min')
    missing = [m for m in task['metrics'] if m not in trained]
    if missing:
        sys.exit(f'[quickstart] the evaluation did not report {missing}')


if __name__ == '__main__':
    main()
