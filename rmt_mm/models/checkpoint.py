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


# Where the weights sit in the files of each release, tried in this order at every level:
#   official classfication_release/main.py   {'model': sd, 'model_ema': sd, 'optimizer', ...}
#   official token-label main.py --finetune  {'model': {'state_dict': sd}} or {'state_dict': sd}
#   mmdet 2.x / mmseg 0.x / OpenMMLab 2.0     {'state_dict': sd, 'meta': ...}
#   bare state dicts                          {key: tensor}
CONTAINERS = ('state_dict', 'model', 'module')
EMA_CONTAINERS = ('model_ema', 'state_dict_ema')


def _key_layout(state_dict: dict) -> str:
    if any(k.startswith('backbone.') for k in state_dict):
        return 'OpenMMLab model keys (backbone.*)'
    if any(k.startswith('aux_head.') for k in state_dict):
        return 'official token-labeling classifier keys (patch_embed.*, layers.*, aux_head.*)'
    if any(k.startswith(('patch_embed.', 'layers.')) for k in state_dict):
        return 'official RMT keys (patch_embed.*, layers.*)'
    return 'no RMT keys'


def find_state_dict(checkpoint, filename: str,
                    ema: bool = False) -> tuple[dict[str, torch.Tensor], str]:
    """The weights of a checkpoint file, whichever release wrote it, and what was found.

    Descends through ``state_dict``/``model``/``module`` (``model_ema``/``state_dict_ema``
    first when ``ema``) until it reaches tensors; strips DDP's ``module.``.

    Returns:
        the state dict, and a description such as ``checkpoint['model'] (172 tensors, official
        RMT keys (patch_embed.*, layers.*)); also 'model_ema' (not loaded)``.

    Raises:
        RuntimeError: naming the file and what it holds, when there are no tensors (or no EMA
            weights for ``ema``).
    """
    if not isinstance(checkpoint, dict):
        raise RuntimeError(f'{filename} is not a checkpoint dict (got {type(checkpoint)})')
    path, node, names = [], checkpoint, EMA_CONTAINERS if ema else CONTAINERS
    while not any(isinstance(v, torch.Tensor) for v in node.values()):
        key = next((k for k in names if isinstance(node.get(k), dict)), None)
        if key is None:
            break
        path.append(key)
        node, names = node[key], CONTAINERS
    top_level = sorted(map(str, checkpoint))[:12]
    if ema and not path:
        raise RuntimeError(f"{filename} holds no EMA weights ('model_ema' or 'state_dict_ema'); "
                           f'its top-level keys: {top_level}')
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                  for k, v in node.items() if isinstance(v, torch.Tensor)}
    where = 'checkpoint' + ''.join(f'[{k!r}]' for k in path)
    if not state_dict:
        raise RuntimeError(f'{filename} holds no tensors under {where}; its top-level keys: '
                           f'{top_level}. It is not a model checkpoint')
    others = [k for k in EMA_CONTAINERS + CONTAINERS
              if k != (path[0] if path else None) and isinstance(checkpoint.get(k), dict)]
    found = f'{where} ({len(state_dict)} tensors, {_key_layout(state_dict)})'
    if others:
        found += '; also ' + ', '.join(map(repr, others)) + ' (not loaded)'
    return state_dict, found


def load_backbone_checkpoint(backbone: torch.nn.Module, filename: str,
                             prefix: str | None = None,
                             map_location: str = 'cpu') -> tuple[list, list]:
    """Load the backbone's weights out of an official or OpenMMLab checkpoint.

    Accepts every layout of :data:`CONTAINERS` (:func:`find_state_dict`): the official
    classification and token-labeling releases (keys without prefix), the official mmdet 2.x /
    mmseg 0.x checkpoints and rmt_mm's own (keys under ``backbone.``) and bare state dicts; the
    log and the errors say which layout was found. The file is read with
    ``weights_only=True``. Keys of other parts (heads, necks) are skipped and logged.

    Raises:
        RuntimeError: the checkpoint gives the backbone no weights at all, or some shapes
            differ (another variant), listing the keys and shapes.

    Returns:
        the backbone keys not found in the checkpoint, and the checkpoint keys not used.
    """
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location=map_location)
    state_dict, found = find_state_dict(checkpoint, filename)
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
            f'{filename} gives the {type(backbone).__name__} backbone no weights: found '
            f'{found}; none of its keys (e.g. {sorted(state_dict)[:3]}) is a backbone key '
            f'(e.g. {sorted(own)[:3]}). Is it a checkpoint of another model?')
    if mismatched:
        raise RuntimeError(
            f'{filename} does not fit this {type(backbone).__name__} (another variant?): '
            f'found {found}; {len(mismatched)} shape mismatches:\n  '
            + '\n  '.join(mismatched[:20]) + ('\n  ...' if len(mismatched) > 20 else ''))
    missing = sorted(k for k in own if k not in matched)
    unused = sorted(k for k in state_dict if k not in own)
    backbone.load_state_dict(matched, strict=False)
    print_log(f'Loaded {len(matched)}/{len(own)} backbone tensors from {filename}: found '
              f'{found}', 'current')
    if missing:
        print_log(f'Backbone keys not in the checkpoint (left as initialised): {missing}',
                  'current', level=30)
    if unused:
        print_log(f'Checkpoint keys the backbone does not use ({len(unused)}): '
                  f'{unused[:10]}{" ..." if len(unused) > 10 else ""}', 'current')
    return missing, unused
