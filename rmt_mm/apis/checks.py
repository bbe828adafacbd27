"""What the tools check in a config before anything is built, so that a user's mistake stops at
once with an error naming the field and the file instead of training silently wrong or
crashing hours later; and the one repair they make (:func:`evaluators_follow_datasets`)."""
import json
import os
import os.path as osp
from collections.abc import Callable
from typing import NamedTuple

from mmengine.config import Config
from mmengine.logging import print_log

from rmt_mm.utils.tasks import get_task


def _datasets(node, where):
    """(config path, dataset dict) of a dataset config and the datasets it wraps."""
    if not isinstance(node, dict):
        return
    yield where, node
    if isinstance(node.get('dataset'), dict):
        yield from _datasets(node['dataset'], f'{where}.dataset')
    for i, child in enumerate(node.get('datasets') or []):
        yield from _datasets(child, f'{where}.datasets[{i}]')


def _local(path) -> bool:
    return isinstance(path, str) and bool(path) and '://' not in path


def _ann_path(dataset: dict):
    """The local annotation file a dataset config reads (``data_root`` joined), or None."""
    ann, root = dataset.get('ann_file'), dataset.get('data_root')
    if not _local(ann):
        return None
    path = ann if osp.isabs(ann) or not root else osp.join(root, ann)
    return path if '://' not in path else None


def check_data_paths(cfg: Config, loaders=('train_dataloader', 'val_dataloader')):
    """Fail before anything is built when a local ``data_root`` or annotation file is missing,
    naming the config field and the absolute path that was looked for."""
    for loader in loaders:
        for where, dataset in _datasets((cfg.get(loader) or {}).get('dataset'),
                                        f'{loader}.dataset'):
            root = dataset.get('data_root')
            if _local(root) and not osp.isdir(root):
                raise FileNotFoundError(
                    f'{where}.data_root: the folder {osp.abspath(root)} does not exist; '
                    f'prepare the data there (configs/{get_task(cfg).name}/README.md, "Data '
                    f'preparation"), link it, or set --cfg-options {where}.data_root=PATH')
            path = _ann_path(dataset)
            if path and not osp.isfile(path):
                raise FileNotFoundError(f'{where}.ann_file: {osp.abspath(path)} does not '
                                        f'exist')


# Metrics that score predictions against the annotation file of the dataset they evaluate.
_FILE_METRICS = ('CocoMetric', 'LVISMetric')


def evaluators_follow_datasets(cfg: Config):
    """Point each COCO-style evaluator at the annotation file of the dataset it evaluates.

    A config writes the evaluator's ``ann_file`` out when it is parsed (``data_root +
    'annotations/...'``), so ``--cfg-options val_dataloader.dataset.data_root=PATH`` alone
    would score the new images against the old file (or crash at the first validation when
    it is gone). The metric's ground truth must be the dataset's, so the file follows the
    dataset; a change is logged with both paths.
    """
    for loader, evaluator in (('val_dataloader', 'val_evaluator'),
                              ('test_dataloader', 'test_evaluator')):
        datasets = list(_datasets((cfg.get(loader) or {}).get('dataset'), f'{loader}.dataset'))
        metrics = cfg.get(evaluator)
        if not datasets or not metrics:
            continue
        where, dataset = datasets[-1]  # the innermost of the wrappers
        path = _ann_path(dataset)
        if isinstance(metrics, dict) and 'metrics' in metrics:  # Evaluator(metrics=[...])
            metrics = metrics['metrics']
        listed = metrics if isinstance(metrics, (list, tuple)) else [metrics]
        for i, metric in enumerate(listed):
            if not (path and isinstance(metric, dict) and _local(metric.get('ann_file'))
                    and str(metric.get('type', '')).split('.')[-1] in _FILE_METRICS):
                continue
            if osp.abspath(metric['ann_file']) != osp.abspath(path):
                field = evaluator + (f'[{i}]' if isinstance(metrics, (list, tuple)) else '')
                print_log(f'{field}.ann_file: {metric["ann_file"]} -> {path}, the annotation '
                          f'file of {where} (a metric scores against the file of the data it '
                          f'evaluates)', logger='current', level=30)
                metric['ann_file'] = path


def _is_rmt(backbone) -> bool:
    return isinstance(backbone, dict) and str(backbone.get('type', '')).split('.')[-1] == 'RMT'


def check_model_channels(model: dict, where: str = 'model'):
    """Check that what reads the RMT backbone's outputs expects their channels: the neck's
    ``in_channels`` (all outputs, or the last one for a pooling neck), or a head's
    ``in_channels`` at its ``in_index`` (all outputs for a list without one). Raises
    ValueError naming the field and the right value; does nothing for other backbones."""
    backbone = model.get('backbone')
    if not _is_rmt(backbone):
        return
    from rmt_mm.models import RMT
    outs = RMT.output_channels(backbone.get('arch', 't'), backbone.get('out_indices', (0, 1, 2, 3)))
    described = (f"RMT arch={backbone.get('arch', 't')!r} with "
                 f"out_indices={tuple(backbone.get('out_indices', (0, 1, 2, 3)))} outputs "
                 f'channels {outs}')
    necks = model.get('neck')
    neck = necks[0] if isinstance(necks, (list, tuple)) else necks
    if isinstance(neck, dict) and 'in_channels' in neck:
        got = neck['in_channels']
        expected = list(outs) if isinstance(got, (list, tuple)) else outs[-1]
        if (list(got) if isinstance(got, (list, tuple)) else got) != expected:
            raise ValueError(f'{where}.neck.in_channels={got} does not match the backbone: '
                             f'{described}; set it to {expected}')
        return
    for head_name in ('decode_head', 'auxiliary_head', 'panoptic_head'):
        heads = model.get(head_name)
        for i, head in enumerate(heads if isinstance(heads, (list, tuple)) else [heads]):
            if not isinstance(head, dict) or 'in_channels' not in head:
                continue
            field = f'{where}.{head_name}' + (f'[{i}]' if isinstance(heads, list) else '')
            # A list without in_index (Mask2Former's pixel decoder) reads every output.
            every = tuple(range(len(outs))) if isinstance(head['in_channels'], (list, tuple)) \
                else -1
            index = head.get('in_index', every)
            try:
                expected = ([outs[j] for j in index] if isinstance(index, (list, tuple))
                            else outs[index])
            except IndexError:
                raise ValueError(f'{field}.in_index={index} is out of range: {described}') \
                    from None
            got = head['in_channels']
            if (list(got) if isinstance(got, (list, tuple)) else got) != expected:
                raise ValueError(f'{field}.in_channels={got} does not match the backbone at '
                                 f'in_index={index}: {described}; set it to {expected}')


class ClassCount(NamedTuple):
    """A config field that fixes how many classes a model has."""
    field: str  # dotted config path
    shown: str  # its value, as an error shows it
    classes: int  # the number of dataset classes it stands for
    fix: Callable[[int], str]  # what to set for N classes


def class_count_fields(node, path: str = 'model', head_type: str = ''):
    """Every :class:`ClassCount` of a model config:

    - ``num_classes`` anywhere (heads, each cascade stage, mmpretrain's data preprocessor),
      but the RPN's (one foreground class, whatever the dataset);
    - ``num_things_classes`` + ``num_stuff_classes`` (mmdet's Mask2Former head and fusion
      head; instance segmentation has no stuff classes);
    - the per-class ``class_weight`` list of a (Mask2/Mask)Former head's ``loss_cls`` (N + 1
      entries: the last weighs "no object") and of an mmseg head's ``loss_decode`` (N).
    """
    if isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from class_count_fields(value, f'{path}[{i}]', head_type)
        return
    if not isinstance(node, dict):
        return
    if str(node.get('type', '')).endswith('Head'):  # a loss dict keeps its head's type
        head_type = node['type']
    things, stuff = node.get('num_things_classes'), node.get('num_stuff_classes', 0)
    if isinstance(things, int) and isinstance(stuff, int):
        yield ClassCount(
            f'{path}.num_things_classes', f'{things} (num_stuff_classes={stuff})',
            things + stuff,
            lambda n, p=path, s=stuff: f'{p}.num_things_classes to {n - s}' if n > s else
            f'{p}.num_things_classes + num_stuff_classes to {n}')
    for key, value in node.items():
        field = f'{path}.{key}'
        if key == 'num_classes' and isinstance(value, int):
            yield ClassCount(field, str(value), value, lambda n, f=field: f'{f} to {n}')
        elif key == 'class_weight' and isinstance(value, (list, tuple)):
            if head_type.endswith('FormerHead') and '.loss_cls' in path:
                yield ClassCount(
                    field, f'[{len(value)} entries]', len(value) - 1,
                    lambda n, f=field, last=value[-1]:
                    f'{f} to [1.0] * {n} + [{last}] ({n} classes, then "no object")')
            elif '.loss_decode' in path:
                yield ClassCount(field, f'[{len(value)} entries]', len(value),
                                 lambda n, f=field: f'{f} to a list of {n} weights')
        elif key != 'rpn_head':
            yield from class_count_fields(value, field, head_type)


def _dataset_classes(dataset: dict, scope: str | None):
    """(class names, where they come from) of a dataset config: its ``metainfo.classes``, else
    the class folders of an image-folder ``CustomDataset``, else its type's own
    (``CocoDataset``: COCO's 80); None when they cannot be known before it is built."""
    from mmengine.registry import DATASETS
    # The innermost of RepeatDataset, ClassBalancedDataset, ... (not a ConcatDataset's parts).
    chain = [d for where, d in _datasets(dataset, 'dataset') if '[' not in where]
    if not chain:
        return None
    dataset = chain[-1]
    classes = (dataset.get('metainfo') or {}).get('classes')
    folder = osp.join(dataset.get('data_root') or '', dataset.get('data_prefix') or '') \
        if isinstance(dataset.get('data_prefix', ''), str) else ''
    if classes is None and str(dataset.get('type')).endswith('CustomDataset') \
            and not dataset.get('ann_file') and folder and osp.isdir(folder):
        # mmpretrain's CustomDataset: one class per sub-folder, in sorted order
        classes = sorted(d for d in os.listdir(folder) if osp.isdir(osp.join(folder, d)))
        return tuple(classes), f'the sub-folders of {folder}'
    if classes is None and isinstance(dataset.get('type'), str):
        import importlib
        scope = dataset.get('_scope_', scope)
        try:  # as mmengine does when it switches to a scope: its library's registry
            importlib.import_module(f'{scope}.registry')
        except ImportError:
            return None
        name = dataset['type']
        try:
            dataset_type = DATASETS.get(name if '.' in name else f'{scope}.{name}')
        except Exception:  # noqa: BLE001 (the type cannot be imported: no check)
            dataset_type = None
        classes = getattr(dataset_type, 'METAINFO', {}).get('classes')
        origin = f"{name}'s own classes (no metainfo.classes)"
    else:
        origin = 'metainfo.classes'
    return (tuple(classes), origin) if classes is not None else None


def check_num_classes(cfg: Config, loader: str = 'train_dataloader'):
    """Fail before anything is built when a field that fixes the model's class count
    (:func:`class_count_fields`) differs from the number of classes the ``loader``'s dataset
    names, naming each wrong field, the config file and what to set."""
    dataset = (cfg.get(loader) or {}).get('dataset')
    found = _dataset_classes(dataset, cfg.get('default_scope'))
    if found is None:
        return
    classes, origin = found
    fields = list(class_count_fields(cfg.get('model', {}), 'model'))
    if isinstance(cfg.get('data_preprocessor'), dict):  # mmpretrain's, for mixup's one-hot
        fields += class_count_fields(cfg.data_preprocessor, 'data_preprocessor')
    wrong = [count for count in fields if count.classes != len(classes)]
    if wrong:
        where = f' in {cfg.filename}' if cfg.filename else ''
        listed = ', '.join(f'{count.field}={count.shown}' for count in wrong)
        raise ValueError(
            f'{listed}{where}: {loader}.dataset names {len(classes)} classes '
            f'({_short(classes)}; {origin}); set '
            f'{"; ".join(count.fix(len(classes)) for count in wrong)}, or give '
            f'{loader}.dataset the classes of your data')


def check_class_order(cfg: Config, loaders=('train_dataloader', 'val_dataloader')):
    """Fail before anything is built when a COCO-format dataset's ``metainfo.classes`` names
    categories its annotation file lacks, or lists them in another order than the file
    (:func:`rmt_mm.datasets.coco.check_category_names`, which the dataset also runs)."""
    for loader in loaders:
        for _, dataset in _datasets((cfg.get(loader) or {}).get('dataset'), loader):
            classes = (dataset.get('metainfo') or {}).get('classes')
            path = _ann_path(dataset)
            if classes is None or not str(dataset.get('type', '')).endswith('CocoDataset') \
                    or not path or not osp.isfile(path):
                continue
            from rmt_mm.datasets.coco import check_category_names  # needs mmdet
            with open(path) as f:
                categories = json.load(f).get('categories', [])
            check_category_names(classes, [c['name'] for c in categories], path)


def _short(names, shown=6):
    return ', '.join(map(str, names[:shown])) + (', ...' if len(names) > shown else '')


def check_checkpoint_path(path, field: str):
    """Fail before training starts when a local checkpoint path does not exist."""
    if path and _local(str(path)) and not osp.isfile(path):
        raise FileNotFoundError(f'{field}: checkpoint {path} does not exist')
