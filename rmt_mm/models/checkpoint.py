"""Official RMT checkpoints: their keys in rmt_mm's models, and backbone weights out of them.

Next to the models they load into, as timm keeps a model's ``checkpoint_filter_fn``.
"""
import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

# Official VisRetNet classifier -> mmpretrain ImageClassifier(RMT, RMTClsNeck, LinearClsHead).
# The token-labeling classifier (rmt_mm.TokenLabelClassifier) keeps its aux_head.* keys.
CLASSIFIER_PREFIXES = (('proj.', 'neck.proj.'), ('norm.', 'neck.norm.'), ('head.', 'head.fc.'),
                       ('aux_head.', 'aux_head.'))


def convert_official_classifier(
        state_dict: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list]:
    """Official classifier keys -> ImageClassifier keys.

    Returns the converted state dict and the official keys that could not be placed
    (anything that is neither a backbone key nor ``proj``/``norm``/``head``/``aux_head``).
    """
    converted, unplaced = {}, []
    for key, value in state_dict.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        for old, new in CLASSIFIER_PREFIXES:
            if key.startswith(old):
                converted[new + key[len(old):]] = value
                break
        else:
            if key.startswith(('patch_embed.', 'layers.')):
                converted['backbone.' + key] = value
            else:
                unplaced.append(key)
    return converted, unplaced


def _extract_state_dict(checkpoint, filename: str) -> dict[str, torch.Tensor]:
    if not isinstance(checkpoint, dict):
        raise RuntimeError(f'{filename} is not a checkpoint dict (got {type(checkpoint)})')
    for key in ('state_dict', 'model', 'module'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                  for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not state_dict:
        raise RuntimeError(f'{filename} holds no tensors under "state_dict", "model" or at '
                           f'its top level; it is not a model checkpoint')
    return state_dict


def load_backbone_checkpoint(backbone: torch.nn.Module, filename: str,
                             prefix: str | None = None,
                             map_location: str = 'cpu') -> tuple[list, list]:
    """Load the backbone's weights out of an official or OpenMMLab checkpoint.

    Accepts the official classification release (``{'model': sd}``, keys without prefix),
    the official mmdet 2.x / mmseg 0.x checkpoints and rmt_mm's own (``{'state_dict': sd}``,
    keys under ``backbone.``) and bare state dicts. The file is read with
    ``weights_only=True``. Keys of other parts (heads, necks) are skipped and logged.

    Raises:
        RuntimeError: the checkpoint gives the backbone no weights at all, or some shapes
            differ (another variant), listing the keys and shapes.

    Returns:
        the backbone keys not found in the checkpoint, and the checkpoint keys not used.
    """
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    state_dict = _extract_state_dict(checkpoint, filename)
    if prefix is None and any(k.startswith('backbone.') for k in state_dict):
        prefix = 'backbone.'
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}

    own = backbone.state_dict()
    matched = {k: v for k, v in state_dict.items() if k in own}
    mismatched = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                  for k, v in matched.items() if v.shape != own[k].shape]
    if not matched:
        raise RuntimeError(
            f'{filename} gives the {type(backbone).__name__} backbone no weights: none of its '
            f'{len(state_dict)} keys (e.g. {sorted(state_dict)[:3]}) is a backbone key '
            f'(e.g. {sorted(own)[:3]}). Is it a checkpoint of another model?')
    if mismatched:
        raise RuntimeError(
            f'{filename} does not fit this {type(backbone).__name__} (another variant?): '
            f'{len(mismatched)} shape mismatches:\n  ' + '\n  '.join(mismatched[:20]) +
            ('\n  ...' if len(mismatched) > 20 else ''))
    missing = sorted(k for k in own if k not in matched)
    unused = sorted(k for k in state_dict if k not in own)
    backbone.load_state_dict(matched, strict=False)
    print_log(f'Loaded {len(matched)}/{len(own)} backbone tensors from {filename}', 'current')
    if missing:
        print_log(f'Backbone keys not in the checkpoint (left as initialised): {missing}',
                  'current', level=30)
    if unused:
        print_log(f'Checkpoint keys the backbone does not use ({len(unused)}): '
                  f'{unused[:10]}{" ..." if len(unused) > 10 else ""}', 'current')
    return missing, unused
