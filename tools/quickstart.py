"""Quick start: check the stack and run RMT-T on an image that scikit-image ships.

    bash tools/quickstart.sh [--arch t] [--attn-impl auto]
"""
import argparse
import time

import numpy as np
import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', default='t', help="RMT variant: t, s, b or l")
    parser.add_argument('--attn-impl', default='auto',
                        help="MaSA implementation: auto, sdpa, chunked or reference")
    args = parser.parse_args()

    import mmcv
    import mmdet
    import mmengine
    import mmpretrain
    import mmseg
    from mmcv.ops import RoIAlign, nms  # noqa: F401  (compiled ops)
    from skimage import data

    import rmt_mm
    from rmt_mm.models import RMT
    print(f'[quickstart] torch {torch.__version__} | mmcv {mmcv.__version__} (ops ok) | '
          f'mmengine {mmengine.__version__} | mmdet {mmdet.__version__} | '
          f'mmseg {mmseg.__version__} | mmpretrain {mmpretrain.__version__} | '
          f'rmt_mm {rmt_mm.__version__}')

    image = data.astronaut().astype(np.float32) / 255.0  # (512, 512, 3)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    x = torch.from_numpy(((image - mean) / std).transpose(2, 0, 1)).float()[None]
    model = RMT(arch=args.arch, attn_impl=args.attn_impl).eval()
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        start = time.perf_counter()
        outs = model(x)
        elapsed = time.perf_counter() - start
    print(f'[quickstart] RMT-{args.arch.upper()} dense backbone: {params / 1e6:.2f}M params, '
          f'input {tuple(x.shape)}, forward {elapsed:.2f} s')
    for i, out in enumerate(outs):
        print(f'[quickstart]   stage {i}: {tuple(out.shape)}')


if __name__ == '__main__':
    main()
