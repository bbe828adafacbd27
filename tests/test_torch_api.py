"""rmt_mm.utils.torch_api: the torch features that torch 2.1 lacks, with their fallbacks."""
import re

import pytest
import torch


def test_compiling_and_exporting_are_false_in_eager_code_and_true_when_compiling():
    from rmt_mm.utils import torch_api
    assert not torch_api.is_compiling() and not torch_api.is_exporting()
    seen = []

    def probe(x):
        seen.append(torch_api.is_compiling())
        return x + 1

    torch.compile(probe, backend='eager')(torch.zeros(2))
    assert seen and all(seen)


def test_sdpa_kernels_is_a_context_for_every_kernel_name():
    from rmt_mm.utils import torch_api
    for names in (('efficient', 'math'), ('flash', 'cudnn', 'math')):
        with torch_api.sdpa_kernels(names):
            out = torch.nn.functional.scaled_dot_product_attention(*[torch.ones(1, 1, 2, 4)] * 3)
        assert out.shape == (1, 1, 2, 4)


def test_flex_attention_or_the_torch_it_needs():
    from rmt_mm.utils import torch_api
    if torch_api.HAS_FLEX_ATTENTION:
        assert callable(torch_api.flex_attention())
    else:
        with pytest.raises(RuntimeError, match=r"attn_impl='flex' needs torch >= 2.5 "
                           rf'\(flex_attention\), found {re.escape(torch.__version__)}'):
            torch_api.flex_attention()
