"""Token-labeling classifiers RMT-S*/B*/L*: the official model, its targets, MixToken, loss,
label maps through the pipeline, checkpoints and training end to end."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from helpers import OFFICIAL_ARCH_KEYS, REPO, fixture_path, read_scalars, run_python
from task_configs import TINY_CLS_RUN

CLS = osp.join(REPO, 'configs', 'cls')


@pytest.fixture(scope='module')
def tl_fixture():
    return torch.load(fixture_path('official_tiny_token_label_classifier.pt'))


def tiny_classifier(kwargs, **overrides):
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope('mmpretrain')
    arch = {k: kwargs[k] for k in OFFICIAL_ARCH_KEYS}
    width, classes = kwargs['embed_dims'][-1], kwargs['num_classes']
    return MODELS.build(dict(
        type='rmt_mm.TokenLabelClassifier',
        backbone=dict(type='rmt_mm.RMT', arch=arch, out_indices=(3, ), out_norm=False),
        neck=dict(type='rmt_mm.RMTClsNeck', in_channels=width, out_channels=kwargs['projection']),
        head=dict(type='LinearClsHead', num_classes=classes, in_channels=kwargs['projection']),
        aux_head=dict(in_channels=overrides.pop('aux_in', width), num_classes=classes),
        **overrides))


def convert(state, tmp_path, *extra):
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save(state, src)
    run = run_python('tools/model_converters/rmt_official_to_mm.py', str(src), str(dst),
                     '--task', 'cls', *extra)
    assert 'could not be placed: none' in run.stdout
    return torch.load(dst)['state_dict']


# ----------------------------------------------------------------------------- the model
@pytest.mark.parametrize('layout', ['model', 'model_ema'])
def test_official_checkpoint_reproduces_the_official_outputs(layout, tl_fixture, tmp_path):
    official = tl_fixture['state_dict']
    if layout == 'model':
        state = convert({'model': official}, tmp_path)
    else:  # the release may carry the EMA next to the trained weights
        noise = {k: v + 1 if v.is_floating_point() else v for k, v in official.items()}
        state = convert({'model': noise, 'model_ema': official}, tmp_path, '--ema')
    model = tiny_classifier(tl_fixture['kwargs'])
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        output = model(tl_fixture['input'])
        cls_logits, aux_logits, box = model.logits(tl_fixture['input'])
    assert box is None
    torch.testing.assert_close(output, tl_fixture['output'], atol=1e-5, rtol=0)
    torch.testing.assert_close(cls_logits, tl_fixture['cls_logits'], atol=1e-5, rtol=0)
    torch.testing.assert_close(aux_logits.flatten(1, 2), tl_fixture['aux_logits'], atol=1e-5,
                               rtol=0)
    pred = model.predict(tl_fixture['input'])
    torch.testing.assert_close(pred[0].pred_score, output[0].softmax(0))


def test_aux_head_of_another_width_is_named(tl_fixture):
    from rmt_mm.models.checkpoint import convert_official_classifier
    state, _ = convert_official_classifier(tl_fixture['state_dict'])
    model = tiny_classifier(tl_fixture['kwargs'], aux_in=96)  # 1024-style: after the neck
    expected = (r"aux_head.weight of the checkpoint is \(10, 128\) \(classes x features\) "
                r"but this model's is \(10, 96\): the checkpoint's aux head reads 128 "
                r"features per token, this model's 96")
    with pytest.raises(ValueError, match=expected):
        model.load_state_dict(state)


def test_dense_backbone_starts_from_a_token_label_checkpoint(tl_fixture, tmp_path):
    from rmt_mm.models import RMT
    path = tmp_path / 'token_label.pth'
    torch.save({'model': tl_fixture['state_dict']}, path)
    arch = {k: tl_fixture['kwargs'][k] for k in OFFICIAL_ARCH_KEYS}
    backbone = RMT(arch=arch, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    backbone.init_weights()
    torch.testing.assert_close(backbone.layers[2].blocks[0].ffn.fc1.weight,
                               tl_fixture['state_dict']['layers.2.blocks.0.ffn.fc1.weight'])


@pytest.mark.parametrize('variant, params', [('s', 27_480_240), ('b', 54_667_896),
                                             ('l', 96_105_864)])
def test_params_equal_the_official_build(variant, params):
    from mmengine.registry import MODELS, init_default_scope
    cfg = Config.fromfile(osp.join(CLS, f'rmt_{variant}_token_label_in1k.py'))
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == params


def test_recipe_follows_the_official_token_label_run():
    cfg = Config.fromfile(osp.join(CLS, 'rmt_s_token_label_in1k.py'))
    assert cfg.model.train_cfg is None  # Mixup / CutMix off
    loss = cfg.model.loss
    assert (loss.dense_weight, loss.cls_weight, cfg.model.smoothing) == (0.5, 1.0, 0.1)
    assert cfg.train_cfg.max_epochs == 310 and cfg.param_scheduler[0].t_initial == 310
    assert cfg.test_pipeline[1].scale == math.floor(224 / 0.96)  # crop_pct 0.96
    assert cfg.val_dataloader.batch_size == int(1.5 * 128)
    assert cfg.train_dataloader.sampler.type == 'DefaultSampler'
    assert cfg.custom_hooks[0].type == 'rmt_mm.BatchScaledEMAHook'


# ----------------------------------------------------------------------------- MixToken
def test_paste_flipped_takes_the_box_from_the_reversed_batch():
    from rmt_mm.models.classifiers.token_label import paste_flipped
    x = torch.arange(3 * 4 * 4.).view(3, 4, 4, 1)
    mixed = paste_flipped(x, (1, 3, 0, 1), scale=2)  # rows 2:6 and columns 0:2 of 8 x 8
    big = torch.arange(3 * 8 * 8.).view(3, 8, 8, 1)
    mixed = paste_flipped(big, (1, 3, 0, 1), scale=2)
    assert torch.equal(mixed[0, 2:6, 0:2], big[2, 2:6, 0:2])
    assert torch.equal(mixed[2, 2:6, 0:2], big[0, 2:6, 0:2])
    assert torch.equal(mixed[1, 2:6, 0:2], big[1, 2:6, 0:2])  # the middle sample is its own
    outside = torch.ones(8, 8, dtype=torch.bool)
    outside[2:6, 0:2] = False
    assert torch.equal(mixed[:, outside], big[:, outside])


def test_mix_token_mixes_the_stem_output_and_puts_aux_logits_back(tl_fixture):
    from rmt_mm.models.classifiers.token_label import paste_flipped, sample_mix_token_box
    model = tiny_classifier(tl_fixture['kwargs'])
    model.eval()  # deterministic BN; MixToken is asked for explicitly
    inputs = torch.randn(3, 3, 128, 128)
    np.random.seed(3)
    box = sample_mix_token_box((4, 4))
    # Seed 3: lam = 0.363, sides int(4 * sqrt(1 - lam)) = 3, centre (1, 3); the official
    # rand_bbox takes side // 2 on each side of the centre and clips: rows 0:2, columns 2:4.
    assert box == (0, 2, 2, 4)
    np.random.seed(3)
    with torch.no_grad():
        cls_logits, aux_logits, drawn = model.logits(inputs, mix_token=True)
        stem = paste_flipped(model.backbone.embed(inputs), box, scale=8)
        feats = model.backbone.forward_stages(stem)
        expected_aux = model.aux_head(feats[-1].permute(0, 2, 3, 1))
    assert drawn == box
    torch.testing.assert_close(cls_logits, model.head(model.neck(feats)))
    torch.testing.assert_close(aux_logits, expected_aux)
    # The loss puts the box's aux logits back with the image they came from.
    restored = paste_flipped(aux_logits, box)
    torch.testing.assert_close(restored[0, 0:2, 2:4], aux_logits[2, 0:2, 2:4])


# ----------------------------------------------------------------------------- loss
def test_token_label_loss_on_a_hand_computed_example():
    from rmt_mm.models.losses import TokenLabelCrossEntropy
    loss = TokenLabelCrossEntropy(dense_weight=0.5, cls_weight=1.0)
    cls_logits = torch.tensor([[0., 0.], [math.log(3), 0.]])
    aux_logits = torch.zeros(2, 1, 2)
    cls_target = torch.tensor([[1., 0.], [0., 1.]])
    token_targets = torch.tensor([[[1., 0.]], [[0.5, 0.5]]])
    out = loss(cls_logits, aux_logits, cls_target, token_targets, mixed_fraction=0.25)
    # Mixed cls targets: sample 0 [0.75, 0.25], sample 1 [0.25, 0.75].
    # CE0 = -(0.75 log 0.5 + 0.25 log 0.5) = log 2; CE1 = -(0.25 log 0.75 + 0.75 log 0.25).
    ce1 = -(0.25 * math.log(0.75) + 0.75 * math.log(0.25))
    assert out['loss_cls'].item() == pytest.approx((math.log(2) + ce1) / 2)
    assert out['loss_token'].item() == pytest.approx(0.5 * math.log(2))  # uniform logits


def test_targets_pool_the_class_maps_over_the_crop():
    from rmt_mm.models.losses.token_label import crop_boxes, token_label_targets
    # One class everywhere with score log(3) against two zero classes: softmax 3/5, 1/5, 1/5.
    maps = torch.zeros(1, 2, 1, 15, 15)
    maps[:, 0] = math.log(3)
    whole, dense = token_label_targets(maps, torch.tensor([[0.2, 0.0, 0.5, 1.0]]), 3, (2, 2),
                                       smoothing=0.0)
    torch.testing.assert_close(whole, torch.tensor([[0.6, 0.2, 0.2]]))
    torch.testing.assert_close(dense, torch.tensor([[0.6, 0.2, 0.2]]).expand(1, 4, 3))
    crops = torch.tensor([[0.2, 0.1, 0.4, 0.5]])  # top, left, height, width
    aligned = crop_boxes(crops, (15, 15))
    official = crop_boxes(crops, (15, 15), box_order='official')
    torch.testing.assert_close(aligned, torch.tensor([[0., 1.0, 2.5, 8.5, 8.5]]))
    torch.testing.assert_close(official, torch.tensor([[0., 2.5, 1.0, 8.5, 8.5]]))


# ----------------------------------------------------------------------------- label maps
def position_image_and_map(size=150, grid=15):
    """An image whose pixels hold their own (row, col) and a label map whose two classes score
    the (row, col) of each cell's centre in cells; class 2 scores 0."""
    rows, cols = np.mgrid[0:size, 0:size]
    img = np.stack([rows, cols, np.zeros_like(rows)], -1).astype(np.uint8)  # 0..149
    centres = (np.arange(grid) + 0.5) * size / grid
    label = np.zeros((2, 2, grid, grid), np.float32)
    label[0, 0] = centres[:, None] / (size / grid)  # row, in cells
    label[0, 1] = centres[None, :] / (size / grid)
    label[1, 1] = 1  # class indices: 0 and 1
    return img, label


def decoded_positions(dense, grid):
    """Per token: the (row, col) in cells that the targets encode (log-ratio to class 2)."""
    logits = torch.log(dense[0] / dense[0][:, 2:3])
    return logits[:, 0].view(grid), logits[:, 1].view(grid)


@pytest.mark.parametrize('seed', range(4))
def test_label_map_follows_the_image_through_flip_and_crop(seed):
    from mmengine.registry import TRANSFORMS, init_default_scope

    from rmt_mm.models.losses.token_label import token_label_targets
    init_default_scope('mmpretrain')
    np.random.seed(seed)
    img, label = position_image_and_map()
    flip = TRANSFORMS.build(dict(type='rmt_mm.TokenLabelRandomFlip', prob=0.5,
                                 direction='horizontal'))
    crop = TRANSFORMS.build(dict(type='rmt_mm.TokenLabelRandomResizedCrop', scale=60,
                                 crop_ratio_range=(0.3, 1.0), interpolation='nearest'))
    results = crop(flip(dict(img=img.copy(), token_label_map=label.copy())))
    grid = (6, 6)
    _, dense = token_label_targets(results['token_label_map'][None],
                                   results['token_label_crop'][None], 3, grid, smoothing=0.0)
    rows, cols = decoded_positions(dense, grid)
    # The image at each token's centre says where in the original image it comes from.
    centres = ((np.arange(6) + 0.5) * 10).astype(int)
    out = results['img'][centres][:, centres]
    torch.testing.assert_close(rows, torch.from_numpy(out[..., 0] / 10.).float(), atol=0.6,
                               rtol=0)
    torch.testing.assert_close(cols, torch.from_numpy(out[..., 1] / 10.).float(), atol=0.6,
                               rtol=0)


def test_rand_augment_geometry_moves_the_label_map():
    from mmengine.registry import TRANSFORMS, init_default_scope
    init_default_scope('mmpretrain')
    img, label = position_image_and_map()
    rotate = TRANSFORMS.build(dict(type='rmt_mm.TokenLabelRotate', angle=30.0, prob=1.0,
                                   random_negative_prob=0.0, interpolation='nearest'))
    results = rotate(dict(img=img.copy(), token_label_map=label.copy()))
    moved = results['token_label_map']
    centres = ((np.arange(15) + 0.5) * 10).astype(int)
    at_cells = results['img'][centres][:, centres]
    inside = moved[0, 0] > 0  # cells that still show the image (zero outside)
    assert 100 < inside.sum() < 225
    assert np.abs(moved[0, 0][inside] - at_cells[..., 0][inside] / 10. - 0.5).max() <= 1.0
    assert np.abs(moved[0, 1][inside] - at_cells[..., 1][inside] / 10. - 0.5).max() <= 1.0
    # Photometric operations leave the map alone.
    ra = TRANSFORMS.build(dict(type='rmt_mm.TokenLabelRandAugment', policies='timm_increasing',
                               num_policies=2, magnitude_level=9))
    assert [type(t).__name__ for t in ra.transforms if 'TokenLabel' in type(t).__name__] == \
        ['TokenLabelRotate', 'TokenLabelShear', 'TokenLabelShear', 'TokenLabelTranslate',
         'TokenLabelTranslate']


def test_load_token_label_map_names_the_missing_file(tmp_path):
    from rmt_mm.datasets.token_label import LoadTokenLabelMap
    load = LoadTokenLabelMap(str(tmp_path / 'maps'))
    with pytest.raises(FileNotFoundError, match=r'maps/n01440764/img_1\.pt for image'):
        load.transform(dict(img_path='/data/train/n01440764/img_1.JPEG'))


# ----------------------------------------------------------------------------- training
TINY_TL_CONFIG = '''
_base_ = ['{base}']
model = dict(
    backbone=dict(arch=dict(_delete_=True, **{arch}), drop_path_rate=0.0),
    neck=dict(in_channels=128, out_channels=64),
    head=dict(num_classes=4, in_channels=64, topk=(1, )),
    aux_head=dict(in_channels=128, num_classes=4))
data_preprocessor = dict(num_classes=4)
label_root = '{data}/label_top5_train_nfnet'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='rmt_mm.LoadTokenLabelMap', label_root=label_root),
    dict(type='rmt_mm.TokenLabelRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='rmt_mm.TokenLabelRandomResizedCrop', scale=64, crop_ratio_range=(0.6, 1.0),
         backend='pillow'),
    dict(type='PackInputs', algorithm_keys=('token_label_map', 'token_label_crop')),
]
dataset = dict(_delete_=True, type='CustomDataset', data_root='{data}')
loader = dict(batch_size=8, num_workers=0, persistent_workers=False, pin_memory=False)
train_dataloader = dict(**loader, dataset=dict(**dataset, data_prefix='train',
                                               pipeline=train_pipeline))
val_dataloader = dict(**loader, dataset=dict(**dataset, data_prefix='val',
                                             pipeline=[dict(type='LoadImageFromFile'),
                                                       dict(type='PackInputs')]))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=12, val_interval=12)
''' + TINY_CLS_RUN + '''
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=12))
'''


@pytest.mark.slow
def test_token_label_training_end_to_end(tmp_path):
    from rmt_mm.datasets import make_classification_set

    from helpers import TINY_ARCH
    data = make_classification_set(str(tmp_path / 'data'), num_classes=4, per_class=8,
                                   label_maps=True)
    config = tmp_path / 'rmt_tiny_token_label.py'
    config.write_text(TINY_TL_CONFIG.format(
        base=osp.join(CLS, 'rmt_s_token_label_in1k.py'), arch=TINY_ARCH, data=data))
    work_dir = tmp_path / 'work'
    run_python('tools/train.py', str(config), '--work-dir', str(work_dir), '--device', 'cpu')
    scalars = read_scalars(str(work_dir))
    rows = [r for r in scalars if 'loss_token' in r]
    assert len(rows) == 48  # 32 images / 8 per batch x 12 epochs
    losses = [r['loss'] for r in rows]
    assert sum(losses[-4:]) / 4 < 0.85 * sum(losses[:4]) / 4, losses
    assert all(r['loss'] == pytest.approx(r['loss_cls'] + r['loss_token'], rel=1e-4)
               for r in rows)
    assert any('raw_or_ema/accuracy/top1' in r for r in scalars)
