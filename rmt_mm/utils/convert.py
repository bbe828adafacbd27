"""Key mapping from official RMT checkpoints to rmt_mm / OpenMMLab 2.0 models."""

import torch

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
