"""MaSA implementations agree: sdpa, query_blocked and flex against the official-equivalent
reference."""
import copy

import pytest
import torch

from rmt_mm.models import RMT
from rmt_mm.models.layers import MaSA, RelPos2d, masa
from rmt_mm.models.layers.masa import aligned, mask_alignment

from helpers import TINY_ARCH


def _pair(decomposed, impl, dims=32, heads=4, **cfg):
    torch.manual_seed(0)
    ref = MaSA(dims, heads, decomposed, attn_impl='reference')
    fast = MaSA(dims, heads, decomposed, attn_impl=impl, **cfg)
    fast.load_state_dict(ref.state_dict())
    return ref, fast, RelPos2d(dims, heads, 2, 4)


CASES = [(True, 'sdpa', {}), (True, 'sdpa', dict(max_column_mask_bytes=0)), (False, 'sdpa', {}),
         (False, 'query_blocked', dict(chunk_size=7)), (False, 'auto', dict(max_mask_bytes=0))]


@pytest.mark.parametrize('decomposed, impl, cfg', CASES)
@pytest.mark.parametrize('size', [(7, 11), (8, 8), (1, 9), (13, 1)])
def test_forward_and_grads_match_reference(decomposed, impl, cfg, size):
    ref, fast, relpos = _pair(decomposed, impl, **cfg)
    x = torch.randn(2, *size, 32)
    x_ref, x_fast = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_ref, out_fast = ref(x_ref, relpos), fast(x_fast, relpos)
    torch.testing.assert_close(out_fast, out_ref, atol=1e-5, rtol=0)
    grad = torch.randn_like(out_ref)
    out_ref.backward(grad)
    out_fast.backward(grad)
    torch.testing.assert_close(x_fast.grad, x_ref.grad, atol=1e-5, rtol=1e-5)
    for (name, a), b in zip(ref.named_parameters(), fast.parameters()):
        torch.testing.assert_close(b.grad, a.grad, atol=1e-5, rtol=1e-5, msg=name)


def test_decomposed_keys_are_padded_on_cpu_with_the_same_output(monkeypatch):
    """Rows of 11 and columns of 7 keys run as 16 (-inf decay on the padding); the full form
    and a run without padding see the true lengths; all give the same numbers."""
    calls = []

    def spy(q, k, v, mask, *args):
        calls.append((q.shape[-2], k.shape[-2], mask.shape[-1]))
        return sdpa(q, k, v, mask, *args)

    sdpa = masa.sdpa
    monkeypatch.setattr(masa, 'sdpa', spy)
    _, decomposed, relpos = _pair(True, 'sdpa')
    x = torch.randn(2, 7, 11, 32)
    with torch.no_grad():
        padded = decomposed(x, relpos)
        assert calls == [(11, 16, 16), (7, 16, 16)]
        _, full, _ = _pair(False, 'sdpa')
        calls.clear()
        full(x, relpos)
        assert calls == [(77, 77, 77)]
        monkeypatch.setattr(masa, 'CPU_KEY_MULTIPLE', 1)
        calls.clear()
        torch.testing.assert_close(decomposed(x, relpos), padded, atol=1e-6, rtol=0)
        assert calls == [(11, 11, 11), (7, 7, 7)]
    mask = relpos.decay_1d(11, keys=16)
    assert mask.shape == (4, 11, 16) and torch.isneginf(mask[..., 11:]).all()
    torch.testing.assert_close(mask[..., :11], relpos.decay_1d(11))


def test_auto_picks_query_blocks_only_for_large_full_masks():
    full = MaSA(32, 4, decomposed=False, max_mask_bytes=4 * 100 * 100 * 4)
    assert full.resolve_impl(10, 10, torch.float32) == 'sdpa'
    assert full.resolve_impl(10, 11, torch.float32) == 'query_blocked'
    assert MaSA(32, 4, decomposed=True).resolve_impl(500, 500, torch.float32) == 'sdpa'
    blocked = MaSA(32, 4, decomposed=True, attn_impl='query_blocked')
    assert blocked.resolve_impl(500, 500, torch.float32) == 'sdpa'  # 1-D masks stay fused
    assert MaSA(32, 4, decomposed=False, attn_impl='query_blocked').resolve_impl(
        2, 2, torch.float32) == 'query_blocked'
    with pytest.raises(ValueError, match="attn_impl='flash' is not one of"):
        MaSA(32, 4, decomposed=True, attn_impl='flash')


class _RelPosAlignedAsOnCuda(RelPos2d):
    """The mask layout CUDA gets (rows padded to 8 elements), on the CPU."""

    @property
    def alignment(self):
        return 8


@pytest.mark.parametrize('decomposed', [True, False])
def test_padded_masks_keep_values_and_align_strides(decomposed):
    assert mask_alignment(torch.device('cuda')) == 8
    assert mask_alignment(torch.device('cpu')) == 1
    ref, fast, _ = _pair(decomposed, 'sdpa')
    relpos = _RelPosAlignedAsOnCuda(32, 4, 2, 4)
    x = torch.randn(2, 7, 13, 32)
    masks = ([relpos.decay_1d(13), relpos.decay_1d_columns(7, 13)] if decomposed
             else [relpos.decay_2d(7, 13)])
    plain = RelPos2d(32, 4, 2, 4)
    expected = ([plain.decay_1d(13), plain.decay_1d_columns(7, 13)] if decomposed
                else [plain.decay_2d(7, 13)])
    for mask, want in zip(masks, expected):
        assert all(stride % 8 == 0 for stride in mask.stride()[:-1]), mask.stride()
        assert mask.stride()[-1] == 1 and not mask.is_contiguous()
        assert torch.equal(mask, want)
    x_ref, x_fast = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_ref, out_fast = ref(x_ref, plain), fast(x_fast, relpos)
    torch.testing.assert_close(out_fast, out_ref, atol=1e-5, rtol=0)
    out_ref.sum().backward()
    out_fast.sum().backward()
    torch.testing.assert_close(x_fast.grad, x_ref.grad, atol=1e-5, rtol=1e-5)


def test_aligned_pads_only_when_needed():
    mask = torch.arange(24.).view(2, 3, 4)
    assert aligned(mask, 4) is mask and aligned(mask, 1) is mask
    padded = aligned(mask, 8)
    assert padded.stride() == (24, 8, 1) and torch.equal(padded, mask)


def test_cuda_backends_are_checked():
    assert MaSA(32, 4, True).cuda_backends == ('efficient', 'math')
    with pytest.raises(ValueError, match=r"cuda_backends=\('fast',\) must name one or more "
                       r"of \('efficient', 'math', 'flash', 'cudnn'\)"):
        MaSA(32, 4, True, cuda_backends=('fast', ))


@pytest.mark.slow
@pytest.mark.parametrize('decomposed', [True, False])
def test_flex_matches_reference_compiled_on_cpu(decomposed):
    ref, flex, relpos = _pair(decomposed, 'flex')
    assert flex.resolve_impl(7, 11, torch.float32) == 'flex'
    for size in [(7, 11), (1, 9)]:
        x = torch.randn(2, *size, 32)
        with torch.no_grad():
            torch.testing.assert_close(flex(x, relpos), ref(x, relpos), atol=1e-5, rtol=0)
    with pytest.raises(RuntimeError, match="attn_impl='flex' on CPU runs inference only"):
        flex(torch.randn(1, 3, 4, 32, requires_grad=True), relpos)


def test_unknown_attn_impl_is_refused_naming_the_choices():
    for owner in (lambda: MaSA(32, 4, decomposed=False, attn_impl='chunked'),
                  lambda: RMT(arch=TINY_ARCH, attn_impl='chunked')):
        with pytest.raises(ValueError, match="attn_impl='chunked' is not one of"):
            owner()


def test_arch_dicts_take_the_official_or_our_key_for_the_decomposed_stages():
    official = dict(TINY_ARCH)
    ours = {('decomposed' if k == 'chunkwise_recurrents' else k): v for k, v in official.items()}
    assert 'chunkwise_recurrents' in official and 'decomposed' in ours
    assert RMT.parse_arch(official) == RMT.parse_arch(ours)
    assert RMT.parse_arch(ours)['decomposed'] == official['chunkwise_recurrents']
    with pytest.raises(ValueError, match="gives both 'chunkwise_recurrents' and 'decomposed'"):
        RMT.parse_arch(dict(official, decomposed=ours['decomposed']))


@pytest.mark.parametrize('attn_impl, fuse_residual, fused', [
    ('auto', None, True), ('reference', None, False), ('reference', True, True),
    ('auto', False, False)])
def test_fuse_residual_is_one_switch(attn_impl, fuse_residual, fused):
    from rmt_mm.models.layers import DropPathResidual, DWConv2d
    model = RMT(arch=TINY_ARCH, attn_impl=attn_impl, fuse_residual=fuse_residual)
    residual = [m for m in model.modules() if isinstance(m, DWConv2d) and m.residual]
    assert residual and {m.fuse_residual for m in residual} == {fused}
    sums = [m for m in model.modules() if isinstance(m, DropPathResidual)]
    assert len(sums) == sum(TINY_ARCH['depths']) and {m.fused for m in sums} == {fused}


def test_relpos_cache_reused_and_bounded():
    relpos = RelPos2d(32, 4, 2, 4)
    assert relpos.decay_2d(5, 6) is relpos.decay_2d(5, 6)
    assert relpos.rotary(5, 6)[0] is relpos.rotary(5, 6)[0]
    for n in range(10):
        relpos.decay_1d(n + 1)
    assert len(relpos._cache) == RelPos2d.cache_size
    # Reloading the buffers drops the cached masks built from the old ones.
    state = relpos.state_dict()
    state['decay'] = state['decay'] * 2
    before = relpos.decay_1d(4)
    relpos.load_state_dict(state)
    torch.testing.assert_close(relpos.decay_1d(4), before * 2)


def test_decay_values_match_the_spec():
    relpos = RelPos2d(64, 4, 2, 4)
    gamma = 1 - 2.0**(-2 - 4 * torch.arange(4.) / 4)
    torch.testing.assert_close(relpos.decay, gamma.log())
    mask = relpos.decay_2d(3, 4)
    # token (0, 0) vs token (2, 3): Manhattan distance 5
    torch.testing.assert_close(mask[:, 0, 2 * 4 + 3], 5 * gamma.log())
    assert relpos.angle.shape == (16, ) and relpos.angle[0] == relpos.angle[1] == 1


@pytest.mark.parametrize('size', [(64, 96), (50, 70)])
def test_backbone_fast_equals_reference(dense_fixture, size):
    model = RMT(arch=dict(TINY_ARCH, drop_path_rate=0.0), attn_impl='reference')
    fast = copy.deepcopy(model)
    for module in fast.modules():
        if isinstance(module, MaSA):
            module.attn_impl = 'auto'
    x = torch.randn(2, 3, *size)
    outs = [m(x) for m in (model, fast)]
    for a, b in zip(*outs):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=0)
    for o in outs:
        sum(t.square().mean() for t in o).backward()
    for (name, a), b in zip(model.named_parameters(), fast.parameters()):
        torch.testing.assert_close(b.grad, a.grad, atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize('impl', ['reference', 'auto'])
def test_bf16_autocast_finite_with_large_inputs(impl):
    model = RMT(arch=TINY_ARCH, attn_impl=impl).eval()
    x = torch.randn(1, 3, 64, 96) * 100
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        outs = model(x)
    with torch.no_grad():
        ref = model(x)
    for out, r in zip(outs, ref):
        assert torch.isfinite(out).all()
        # bf16 keeps ~3 significant digits; the normalised outputs agree to a few percent.
        assert (out.float() - r).abs().mean() < 0.05 * r.abs().mean() + 0.05


@pytest.mark.slow
def test_torch_compile_has_no_graph_breaks_in_the_backbone():
    import torch._dynamo as dynamo
    model = RMT(arch=TINY_ARCH).eval()
    x = torch.randn(1, 3, 64, 96)
    explanation = dynamo.explain(model)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons
    compiled = torch.compile(model)
    with torch.no_grad():
        for a, b in zip(compiled(x), model(x)):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def _train_step(model, x):
    """Outputs and parameter gradients of one forward and backward in training mode."""
    model.train()
    model.zero_grad()
    outs = model(x)
    sum(o.square().mean() for o in outs).backward()
    return [o.detach() for o in outs], {n: p.grad.clone() for n, p in model.named_parameters()
                                        if p.grad is not None}


FIRST_CALLS = {
    'inference_mode': lambda m, x: torch.inference_mode(),
    'no_grad': lambda m, x: torch.no_grad(),
    'autocast_bf16': lambda m, x: torch.autocast('cpu', dtype=torch.bfloat16),
}


@pytest.mark.parametrize('first', sorted(FIRST_CALLS))
def test_caches_filled_in_any_mode_serve_a_later_training_step(first):
    """An evaluation under inference_mode, no_grad or autocast fills the per-size caches; the
    training step after it gives what a model with empty caches gives (no "Inference tensors
    cannot be saved for backward")."""
    torch.manual_seed(0)
    model = RMT(arch=dict(TINY_ARCH, drop_path_rate=0.0))
    fresh = copy.deepcopy(model)
    x = torch.randn(2, 3, 64, 48)
    model.eval()
    with FIRST_CALLS[first](model, x):
        model(x)
    assert all(relpos._cache for relpos in (s.Relpos for s in model.layers))
    outs, grads = _train_step(model, x)
    ref_outs, ref_grads = _train_step(fresh, x)
    torch.testing.assert_close(outs, ref_outs, rtol=0, atol=0)
    assert grads.keys() == ref_grads.keys() and len(grads) > 0
    for name, grad in ref_grads.items():
        torch.testing.assert_close(grads[name], grad, rtol=0, atol=0, msg=name)


def test_caches_follow_dtype_and_device_moves():
    """Caches built in fp32 on the CPU never leak into a float64 or moved model."""
    torch.manual_seed(0)
    model = RMT(arch=TINY_ARCH).eval()
    x = torch.randn(1, 3, 64, 48)
    with torch.no_grad():
        model(x)
        model.double()
        fresh = copy.deepcopy(model)
        for relpos in (s.Relpos for s in fresh.layers):
            relpos._cache.clear()
        outs = model(x.double())
        assert all(o.dtype == torch.float64 for o in outs)
        torch.testing.assert_close(outs, fresh(x.double()), rtol=0, atol=0)
        model.to('meta')  # a device without the CPU's cached tensors
        assert all(o.device.type == 'meta' for o in model(x.double().to('meta')))
