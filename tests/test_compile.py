"""torch.compile of the RMT backbone (inductor on the CPU): the compiled graph agrees with
eager as closely as MaSA's implementations agree with each other, and detection input sizes
compile once with dynamic shapes."""
import pytest
import torch

from helpers import TINY_ARCH


def relative_difference(a, b) -> float:
    """Largest difference over all outputs, relative to each output's largest value."""
    return max(float((x - y).abs().max() / x.abs().max()) for x, y in zip(a, b))


@pytest.mark.slow
def test_compiled_backbone_agrees_with_eager():
    from rmt_mm.models import RMT
    torch.manual_seed(0)
    model = RMT(arch=TINY_ARCH).eval()
    reference = RMT(arch=TINY_ARCH, attn_impl='reference').eval()
    reference.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        eager = model(x)
        implementations = relative_difference(eager, reference(x))
        compiled = relative_difference(eager, torch.compile(model, fullgraph=True)(x))
    assert 0 < implementations < 1e-5
    assert compiled <= 10 * implementations  # measured: 7e-7 against 4e-7


@pytest.mark.slow
def test_detection_sizes_compile_once_with_dynamic_shapes():
    """Three image sizes padded to multiples of 32, as mmdet's data preprocessor pads a
    batch: one compiled frame, no recompilation (dynamo's own frame counter)."""
    from torch._dynamo.testing import CompileCounter

    from rmt_mm.models import RMT
    torch._dynamo.reset()
    model = RMT(arch=TINY_ARCH).eval()
    counter = CompileCounter()
    compiled = torch.compile(model, fullgraph=True, dynamic=True, backend=counter)
    with torch.no_grad():
        for height, width in [(96, 128), (128, 96), (160, 224), (96, 128)]:
            outputs = compiled(torch.randn(2, 3, height, width))
            assert outputs[0].shape[-2:] == (height // 4, width // 4)
    assert counter.frame_count == 1
