"""Convert official RMT checkpoints to rmt_mm / OpenMMLab 2.0 checkpoints.

    # classification release ({'model': ...}) -> mmpretrain ImageClassifier
    python tools/model_converters/rmt_official_to_mm.py RMT-S.pth rmt_s_in1k.pth --task cls
    # official mmdet 2.x / mmseg 0.x checkpoints -> mmdet 3.x / mmseg 1.x, checked against a config
    python tools/model_converters/rmt_official_to_mm.py mask_rcnn_rmt_s.pth out.pth --task det \\
        --config configs/det/mask_rcnn_rmt_s_fpn_1x_coco.py

The source is read with weights_only=True (plus argparse.Namespace, which official training
checkpoints carry as 'args'). Every key that could not be placed is reported.
"""
import argparse
import os.path as osp
import sys

import torch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--task', choices=['cls', 'det', 'seg'], required=True)
    parser.add_argument('--ema', action='store_true',
                        help="classification: take the EMA weights ('model_ema')")
    parser.add_argument('--config', help='a config of the target model: keys are checked '
                        'against the model it builds')
    return parser.parse_args(argv)


def load_official(path):
    if not osp.isfile(path):
        sys.exit(f'error: checkpoint {path} does not exist')
    from rmt_mm.utils.torch_api import load_weights_only
    try:
        return load_weights_only(path, [argparse.Namespace])
    except Exception as e:  # noqa: BLE001  (UnpicklingError and friends)
        sys.exit(f'error: {path} cannot be read safely (weights_only=True): it contains '
                 f'objects other than tensors and plain containers, so it is refused.\n'
                 f'{str(e).splitlines()[0]}')


def check_against_config(state_dict, config):
    from rmt_mm.apis import build_model
    model_state = build_model(config)[1].state_dict()
    unplaced = sorted(k for k in state_dict if k not in model_state)
    missing = sorted(k for k in model_state if k not in state_dict)
    mismatched = [f'{k}: {tuple(v.shape)} vs model {tuple(model_state[k].shape)}'
                  for k, v in state_dict.items()
                  if k in model_state and v.shape != model_state[k].shape]
    return unplaced, missing, mismatched


def main(argv=None):
    args = parse_args(argv)
    from rmt_mm.models.checkpoint import convert_official_classifier, find_state_dict
    checkpoint = load_official(args.src)
    try:
        state_dict, found = find_state_dict(checkpoint, args.src, ema=args.ema)
    except RuntimeError as error:
        sys.exit(f'error: {error}')
    if args.task == 'cls':
        converted, unplaced = convert_official_classifier(state_dict)
    else:
        # mmdet 2.x -> 3.x and mmseg 0.x -> 1.x kept these models' key names (backbone.*,
        # neck.*, rpn_head.*, roi_head.*, bbox_head.*, decode_head.*, auxiliary_head.*).
        known = ('backbone.', 'neck.', 'rpn_head.', 'roi_head.', 'bbox_head.', 'decode_head.',
                 'auxiliary_head.')
        converted = {k: v for k, v in state_dict.items() if k.startswith(known)}
        unplaced = sorted(k for k in state_dict if not k.startswith(known))
    missing, mismatched = [], []
    if args.config:
        extra, missing, mismatched = check_against_config(converted, args.config)
        unplaced = sorted(set(unplaced) | set(extra))
        for key in extra:
            converted.pop(key, None)

    print(f'{args.src}: found {found}; {len(converted)} converted for task {args.task}')
    print('keys that could not be placed: ' + (', '.join(unplaced) if unplaced else 'none'))
    if args.config:
        print(f'model keys not in the checkpoint: {", ".join(missing) if missing else "none"}')
        if mismatched:
            sys.exit('error: shape mismatches (a checkpoint of another variant?):\n  ' +
                     '\n  '.join(mismatched))
    torch.save({'state_dict': converted,
                'meta': dict(converted_from=osp.basename(args.src), task=args.task)}, args.dst)
    print(f'saved {args.dst}')


if __name__ == '__main__':
    main()
