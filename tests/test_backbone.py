"""The RMT backbone: exact against the official fixtures, and the dense-task interface."""
import copy
import json

import pytest
import torch
import torch.nn as nn

from rmt_mm.models import RMT
from rmt_mm.models.layers import DropPathResidual

from helpers import OFFICIAL_ARCH_KEYS, TINY_ARCH, fixture_path


def official_arch(kwargs):
    return {k: kwargs[k] for k in OFFICIAL_ARCH_KEYS}


@pytest.fixture(scope='module')
def official_archs():
    with open(fixture_path('official_archs.json')) as f:
        return json.load(f)


@pytest.mark.parametrize('attn_impl', ['reference', 'auto'])
def test_dense_fixture_exact(dense_fixture, attn_impl):
    kwargs = dense_fixture['kwargs']
    model = RMT(arch=official_arch(kwargs), out_indices=kwargs['out_indices'],
                attn_impl=attn_impl).eval()
    model.load_state_dict(dense_fixture['state_dict'], strict=True)
    with torch.no_grad():
        outs = model(dense_fixture['input'])
    assert len(outs) == 4
    for out, ref in zip(outs, dense_fixture['outputs']):
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def build_classifier(arch, num_classes, projection):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='rmt_mm.RMT', arch=arch, out_indices=(3, ), out_norm=False),
        neck=dict(type='rmt_mm.RMTClsNeck', in_channels=arch_dims(arch)[-1],
                  out_channels=projection),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=projection)))


def arch_dims(arch):
    return RMT.parse_arch(arch)['embed_dims']


@pytest.mark.parametrize('attn_impl', ['reference', 'auto'])
def test_classifier_fixture_exact(cls_fixture, attn_impl):
    from rmt_mm.models.checkpoint import convert_official_classifier
    kwargs = cls_fixture['kwargs']
    model = build_classifier(official_arch(kwargs), kwargs['num_classes'],
                             kwargs['projection'])
    model.backbone = RMT(arch=official_arch(kwargs), out_indices=(3, ), out_norm=False,
                         attn_impl=attn_impl)
    state_dict, unplaced = convert_official_classifier(cls_fixture['state_dict'])
    assert unplaced == []
    model.load_state_dict(state_dict, strict=True)
    model.eval()
    x = cls_fixture['input']
    with torch.no_grad():
        logits = model(x, mode='tensor')
        # Each stage's output after its downsampling, as the fixture stores them (B, H, W, C).
        h = model.backbone.patch_embed.proj(x).permute(0, 2, 3, 1)
        for stage, ref in zip(model.backbone.layers, cls_fixture['stage_outputs']):
            out, down = stage(h)
            h = down if down is not None else out
            torch.testing.assert_close(h, ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(logits, cls_fixture['output'], atol=1e-5, rtol=0)


@pytest.mark.parametrize('variant', ['T', 'S', 'B', 'L'])
def test_param_counts_and_keys_match_official(official_archs, variant):
    official = official_archs[variant]
    dense = RMT(arch=variant.lower())
    assert sum(p.numel() for p in dense.parameters()) == official['dense_backbone_params']
    assert {k: list(v.shape) for k, v in dense.state_dict().items()} == \
        official['dense_backbone_state_dict']
    classifier = build_classifier(variant.lower(), 1000, 1024)
    assert sum(p.numel() for p in classifier.parameters()) == official['classifier_params']
    # The official arch dict names the decomposed stages `chunkwise_recurrents`.
    expected = {('decomposed' if k == 'chunkwise_recurrents' else k): v
                for k, v in official['arch'].items()}
    assert RMT.parse_arch(variant.lower()) == expected


def test_arch_aliases():
    assert RMT.parse_arch('tiny') == RMT.parse_arch('t') == RMT.parse_arch('T')
    assert RMT.parse_arch('large')['embed_dims'] == [112, 224, 448, 640]


@pytest.mark.parametrize('size', [(63, 97), (33, 33), (64, 96), (17, 130)])
def test_any_input_size_and_batch_one(size):
    model = RMT(arch=TINY_ARCH).eval()
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        outs = model(x)
    h, w = size
    for i, out in enumerate(outs):
        h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
        if i == 0:
            h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
        assert out.shape == (1, TINY_ARCH['embed_dims'][i], h, w)
        assert torch.isfinite(out).all()


def _randomise_batchnorms(model):
    """Non-trivial running statistics and affine parameters, so that folding them shows."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2)
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.5, 0.5)


def _count_calls(modules):
    calls = []
    for module in modules:
        module.register_forward_hook(lambda *args: calls.append(1))
    return calls


def test_cpu_inference_shortcuts_give_the_same_outputs():
    """Folded BatchNorms, in-place stem GELUs and images in groups (no autograd, eval mode)
    against the plain modules (autograd on), on a 3-image batch cut into single images."""
    torch.manual_seed(0)
    model = RMT(arch=TINY_ARCH, inference_group_tokens=1).eval()
    _randomise_batchnorms(model)
    stem_norms = [m for m in model.patch_embed.modules() if isinstance(m, nn.BatchNorm2d)]
    x = torch.randn(3, 3, 64, 96)
    norm_calls, stage_calls = _count_calls(stem_norms), _count_calls([model.layers[0]])
    expected = model(x)
    assert len(norm_calls) == 4 and len(stage_calls) == 1
    norm_calls.clear(), stage_calls.clear()
    with torch.no_grad():
        outs = model(x)
    assert not norm_calls  # folded into their convolutions
    assert len(stage_calls) == 3  # one image at a time
    for out, ref in zip(outs, expected):
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_images_are_not_grouped_where_they_share_batch_statistics():
    """In training mode, even without autograd (a BN statistics pass), a stage sees the whole
    batch, so BatchNorms normalise over it as before."""
    torch.manual_seed(0)
    grouped = RMT(arch=TINY_ARCH, inference_group_tokens=1).train()
    whole = RMT(arch=TINY_ARCH, inference_group_tokens=0).train()
    whole.load_state_dict(grouped.state_dict())
    stage_calls = _count_calls([grouped.layers[0]])
    x = torch.randn(3, 3, 64, 96)
    with torch.no_grad():
        for out, ref in zip(grouped(x), whole(x)):
            torch.testing.assert_close(out, ref)
    assert len(stage_calls) == 1
    torch.testing.assert_close(grouped.layers[0].downsample.norm.running_mean,
                               whole.layers[0].downsample.norm.running_mean)


def test_traced_graph_keeps_every_batchnorm_and_the_whole_batch():
    """FLOP counters and exporters trace the model: no shortcut may hide an operation."""
    model = RMT(arch=TINY_ARCH, inference_group_tokens=1).eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.randn(2, 3, 64, 96), check_trace=False)
    kinds = [node.kind() for node in traced.inlined_graph.nodes()]
    assert kinds.count('aten::batch_norm') == 4 + 3  # stem and downsampling
    assert kinds.count('aten::gelu') == 3  # the stem's, as modules
    assert 'aten::cat' not in kinds


def test_inference_group_tokens_is_checked():
    with pytest.raises(ValueError, match='inference_group_tokens must be an int >= 0'):
        RMT(arch=TINY_ARCH, inference_group_tokens=-1)


def test_out_indices_and_out_norm():
    model = RMT(arch=TINY_ARCH, out_indices=(1, -1)).eval()
    outs = model(torch.randn(2, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [32, 128]
    plain = RMT(arch=TINY_ARCH, out_indices=(3, ), out_norm=False)
    assert not hasattr(plain, 'extra_norms')


def _bn_modules(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def test_frozen_stages():
    model = RMT(arch=TINY_ARCH, frozen_stages=2)
    model.train()
    frozen = [model.patch_embed, model.layers[0], model.layers[1], model.extra_norms[0],
              model.extra_norms[1]]
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert not module.training
    assert all(p.requires_grad for p in model.layers[2].parameters())
    assert model.layers[2].training
    # Frozen BN statistics do not move in a training forward.
    stats = model.patch_embed.proj[1].running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    torch.testing.assert_close(model.patch_embed.proj[1].running_mean, stats)
    assert model.get_layer_depth('layers.2.blocks.0.ffn.fc1.weight')[0] == 4


@pytest.mark.parametrize('norm_type', ['BN', 'SyncBN'])
def test_norm_eval_freezes_every_batchnorm(norm_type):
    model = RMT(arch=TINY_ARCH, norm_cfg=dict(type=norm_type), norm_eval=True)
    model.train()
    bns = _bn_modules(model)
    assert len(bns) == 4 + 3
    if norm_type == 'SyncBN':
        assert all(isinstance(m, nn.SyncBatchNorm) for m in bns)
    assert all(not m.training for m in bns)
    before = [m.running_var.clone() for m in bns]
    model(torch.randn(2, 3, 64, 64)).__len__()  # SyncBN in train mode would need a process group
    for m, b in zip(bns, before):
        torch.testing.assert_close(m.running_var, b)
    assert model.layers[0].training


def test_with_cp_same_output_and_grads():
    torch.manual_seed(1)
    plain = RMT(arch=dict(TINY_ARCH, drop_path_rate=0.0))
    ckpt = copy.deepcopy(plain)
    for stage in ckpt.layers:
        stage.with_cp = True
    x = torch.randn(2, 3, 48, 80)
    outs = [m(x) for m in (plain, ckpt)]
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b)
    for o in outs:
        sum(t.square().mean() for t in o).backward()
    for (name, a), b in zip(plain.named_parameters(), ckpt.parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


def test_fused_residual_sums_equal_the_official_ones_in_training():
    # Drop path on every block (rate rising to 0.6) and layer scale far from 0, so both
    # matter; the same seed draws the same per-sample masks in both.
    arch = dict(TINY_ARCH, layerscales=[True] * 4, drop_path_rate=0.6, layer_init_values=0.5)
    torch.manual_seed(1)
    official = RMT(arch=arch, fuse_residual=False).train()
    fused = copy.deepcopy(official)
    for module in fused.modules():
        if isinstance(module, DropPathResidual):
            module.fused = True
    x = torch.randn(4, 3, 48, 64)
    outs = []
    for model in (official, fused):
        torch.manual_seed(7)
        outs.append(model(x))
        sum(t.square().mean() for t in outs[-1]).backward()
    for a, b in zip(*outs):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    for (name, a), b in zip(official.named_parameters(), fused.parameters()):
        torch.testing.assert_close(b.grad, a.grad, atol=1e-5, rtol=1e-4, msg=name)
    torch.manual_seed(8)  # another draw drops other samples: the masks are in play
    assert not torch.allclose(fused(x)[-1], outs[1][-1], atol=1e-3)


@pytest.mark.parametrize('fused', [True, False])
def test_drop_path_residual_keeps_or_drops_whole_samples(fused):
    layer = DropPathResidual(0.5, fused=fused).train()
    residual = torch.zeros(64, 2, 3)
    torch.manual_seed(0)
    out = layer(torch.ones(64, 2, 3), residual, torch.full((3,), 2.)).flatten(1)
    # kept: residual + 2 * 1 / keep = 4; dropped: the residual alone.
    assert set(out.unique().tolist()) == {0., 4.} and (out == out[:, :1]).all()
    assert 16 < int((out[:, 0] == 4).sum()) < 48
    layer.eval()
    assert layer(torch.ones(64, 2, 3), residual).eq(1).all()
    with pytest.raises(ValueError, match=r'drop_prob must be in \[0, 1\), got 1'):
        DropPathResidual(1)


def test_with_cp_per_stage_argument():
    model = RMT(arch=TINY_ARCH, with_cp=[False, True, False, True])
    assert [s.with_cp for s in model.layers] == [False, True, False, True]


def test_get_layer_depth():
    model = RMT(arch=TINY_ARCH)  # depths 1, 2, 2, 1 -> 8 layer ids
    assert model.get_layer_depth('backbone.patch_embed.proj.0.weight', 'backbone.') == (0, 8)
    assert model.get_layer_depth('backbone.layers.0.blocks.0.pos.conv.weight',
                                 'backbone.') == (1, 8)
    assert model.get_layer_depth('backbone.layers.1.blocks.1.ffn.fc1.weight',
                                 'backbone.') == (3, 8)
    assert model.get_layer_depth('backbone.layers.1.downsample.norm.weight',
                                 'backbone.') == (3, 8)
    assert model.get_layer_depth('backbone.layers.3.blocks.0.gamma_1', 'backbone.') == (6, 8)
    assert model.get_layer_depth('backbone.extra_norms.3.weight', 'backbone.') == (7, 8)
    assert model.get_layer_depth('head.fc.weight', 'backbone.') == (7, 8)


# --- pretrained loading -------------------------------------------------------------------

def _reference_weights():
    torch.manual_seed(3)
    source = RMT(arch=TINY_ARCH)
    for p in source.parameters():
        nn.init.normal_(p)
    return source.state_dict()


def _assert_loaded(model, state_dict, prefix=''):
    own = model.state_dict()
    for key, value in state_dict.items():
        if key.startswith(prefix) and key[len(prefix):] in own:
            torch.testing.assert_close(own[key[len(prefix):]], value)


def test_pretrained_official_classification_release(tmp_path):
    weights = _reference_weights()
    # The classification release: {'model': sd} without extra_norms, with the head.
    release = {k: v for k, v in weights.items() if not k.startswith('extra_norms')}
    release.update({'proj.weight': torch.zeros(96, 128), 'head.weight': torch.zeros(10, 96)})
    path = tmp_path / 'rmt_official_cls.pth'
    torch.save({'model': release, 'epoch': 300}, path)
    model = RMT(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    _assert_loaded(model, release)


def test_pretrained_official_detection_checkpoint(tmp_path):
    weights = _reference_weights()
    state = {'backbone.' + k: v for k, v in weights.items()}
    state['neck.lateral_convs.0.conv.weight'] = torch.zeros(256, 16, 1, 1)
    path = tmp_path / 'mask_rcnn_rmt_official.pth'
    torch.save({'state_dict': state, 'meta': {'epoch': 12}}, path)
    model = RMT(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    _assert_loaded(model, state, prefix='backbone.')
    assert torch.equal(model.extra_norms[2].weight, weights['extra_norms.2.weight'])


def test_every_release_layout_loads_and_is_named(tmp_path):
    """The official releases keep their weights in different places: the classification
    release under 'model' (with the EMA under 'model_ema'), the token-labeling release's
    fine-tune reader under 'model' -> 'state_dict'; the loader takes each and says which."""
    from rmt_mm.models.checkpoint import find_state_dict
    weights = _reference_weights()
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in weights.items()}
    layouts = {
        'classification': ({'model': weights, 'model_ema': ema, 'optimizer': {}, 'epoch': 299},
                           "checkpoint['model'] ({n} tensors, official RMT keys "
                           "(patch_embed.*, layers.*)); also 'model_ema' (not loaded)"),
        'token_label': ({'model': {'state_dict': weights}},
                        "checkpoint['model']['state_dict'] ({n} tensors, official RMT keys"),
        'ddp_bare': ({'module.' + k: v for k, v in weights.items()},
                     'checkpoint ({n} tensors, official RMT keys'),
    }
    for name, (checkpoint, expected) in layouts.items():
        state_dict, found = find_state_dict(checkpoint, name)
        assert found.startswith(expected.format(n=len(weights))), found
        path = tmp_path / f'{name}.pth'
        torch.save(checkpoint, path)
        model = RMT(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
        model.init_weights()
        _assert_loaded(model, weights)  # the trained weights, never the EMA's
    _, found = find_state_dict({'model': weights, 'model_ema': ema}, 'f', ema=True)
    assert found.startswith("checkpoint['model_ema']") and "also 'model'" in found
    with pytest.raises(RuntimeError, match=r"f holds no EMA weights .*top-level keys: \['model'\]"):
        find_state_dict({'model': weights}, 'f', ema=True)
    with pytest.raises(RuntimeError, match=r"holds no tensors under checkpoint\['model'\]"):
        find_state_dict({'model': {'epoch': 3}}, 'f')


def test_pretrained_missing_file_names_the_path(tmp_path):
    path = tmp_path / 'nope.pth'
    model = RMT(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        model.init_weights()


def test_pretrained_that_matches_nothing_is_an_error(tmp_path):
    path = tmp_path / 'resnet.pth'
    torch.save({'state_dict': {'conv1.weight': torch.zeros(64, 3, 7, 7)}}, path)
    model = RMT(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(RuntimeError, match=r"gives the RMT backbone no weights: found "
                       r"checkpoint\['state_dict'\] \(1 tensors, no RMT keys\)"):
        model.init_weights()


def test_pretrained_of_another_variant_lists_mismatches(tmp_path):
    path = tmp_path / 'rmt_other.pth'
    other = dict(TINY_ARCH, embed_dims=[32, 32, 64, 128])
    torch.save({'model': RMT(arch=other).state_dict()}, path)
    model = RMT(arch=TINY_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(RuntimeError, match=r'shape mismatches:\n  patch_embed.proj.0.weight'):
        model.init_weights()


# --- configuration errors -------------------------------------------------------------------

@pytest.mark.parametrize('kwargs, message', [
    (dict(arch='xl'), r"unknown arch 'xl'; valid names are \['b', 'base', 'l', 'large'"),
    (dict(arch=dict(TINY_ARCH, depths=[1, 1, 1])), r"arch\['depths'\] must list 4 stages"),
    (dict(arch={k: v for k, v in TINY_ARCH.items() if k != 'num_heads'}),
     r"missing \['num_heads'\]"),
    (dict(arch=dict(TINY_ARCH, num_heads=[3, 2, 4, 8])), 'stage 0: embed_dims 16'),
    (dict(arch=TINY_ARCH, out_indices=(0, 4)), r'out_indices \(0, 4\) must be stage indices'),
    (dict(arch=TINY_ARCH, frozen_stages=5), 'frozen_stages must be an int in'),
    (dict(arch=TINY_ARCH, attn_impl='flash'), "attn_impl='flash' is not one of"),
])
def test_config_errors_name_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RMT(**kwargs)


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(out_indices={0: 0, 3: 3}), TypeError, 'out_indices must be an int or a list/tuple'),
    (dict(pretrained=1), TypeError, 'pretrained must be a checkpoint path'),
    (dict(pretrained='a.pth', init_cfg=dict(type='Pretrained', checkpoint='b.pth')), ValueError,
     'both given; keep only init_cfg'),
])
def test_wrong_types_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        RMT(arch=TINY_ARCH, **kwargs)


def test_mmseg_pretrained_argument_loads_the_backbone(tmp_path):
    """mmseg's ``EncoderDecoder(pretrained=PATH)`` hands PATH to the backbone, which loads it
    (with a deprecation warning), as mmseg's and mmdet's own backbones do."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    source = RMT(arch=TINY_ARCH)
    path = str(tmp_path / 'backbone.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}},
               path)
    from mmengine.config import ConfigDict
    init_default_scope('mmseg')
    with pytest.warns(DeprecationWarning, match="RMT: pretrained is deprecated, use init_cfg"):
        model = MODELS.build(ConfigDict(
            type='EncoderDecoder', pretrained=path,
            data_preprocessor=dict(type='SegDataPreProcessor'),
            backbone=dict(type='rmt_mm.RMT', arch=TINY_ARCH),
            decode_head=dict(type='FCNHead', in_channels=128, in_index=3, channels=8,
                             num_convs=1, num_classes=3)))
    model.init_weights()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(model.backbone.state_dict()[name], value, msg=name)
