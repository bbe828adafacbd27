"""Image loading that tells the user which file is broken, or skips it when asked to."""

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log

from ..registry import TRANSFORMS


@TRANSFORMS.register_module()
class RobustLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with one policy for missing and undecodable files.

    Grayscale, RGBA and 16-bit images load as 8-bit 3-channel images (OpenCV's colour
    decoding), as mmcv does.

    Args:
        on_error (str): 'raise' (default): an error naming the file, the sample index and what
            went wrong. 'skip': a warning naming the file, and the sample is replaced by
            another one (mmengine datasets refetch a random sample when the pipeline returns
            None; this works in training only, test sets must be complete).
        **kwargs: :class:`mmcv.transforms.LoadImageFromFile`'s arguments.
    """
    ON_ERROR = ('raise', 'skip')

    def __init__(self, on_error: str = 'raise', **kwargs):
        if on_error not in self.ON_ERROR:
            raise ValueError(f'RobustLoadImageFromFile: on_error must be one of '
                             f'{self.ON_ERROR}, got {on_error!r}')
        super().__init__(**kwargs)
        self.on_error = on_error

    def _read(self, filename: str) -> np.ndarray:
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError:
            raise FileNotFoundError(f'image file {filename} does not exist') from None
        if not img_bytes:
            raise ValueError(f'image file {filename} is empty')
        img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        if img is None:
            raise ValueError(f'image file {filename} is not a readable image '
                             f'({len(img_bytes)} bytes; corrupt or not an image format)')
        return img

    def transform(self, results: dict) -> dict | None:
        filename = results['img_path']
        try:
            img = self._read(filename)
        except (OSError, ValueError) as error:
            where = f" (sample {results['sample_idx']})" if 'sample_idx' in results else ''
            if self.on_error == 'skip':
                print_log(f'skipping an unreadable image{where}: {error}', logger='current',
                          level=30)
                return None
            raise type(error)(f'{error}{where}; fix or remove it, or load images with '
                              f"dict(type='rmt_mm.RobustLoadImageFromFile', "
                              f"on_error='skip') to skip such files in training") from None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{super().__repr__()[:-1]}, on_error={self.on_error!r})'
