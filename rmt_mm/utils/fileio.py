"""Checkpoints written atomically: a killed job never leaves a half-written file behind a name.

``default_hooks.checkpoint.backend_args = dict(backend='rmt_mm_atomic_local')`` makes mmengine's
CheckpointHook write every checkpoint (and its text files) through :class:`AtomicLocalBackend`:
the bytes go to a temporary file in the same folder, are flushed to disk, and only then
renamed over the final name (``os.replace`` is atomic on POSIX and Windows).
"""
import os
import os.path as osp
import tempfile
import zipfile

from mmengine.fileio import LocalBackend, register_backend

ATOMIC_BACKEND = 'rmt_mm_atomic_local'


def atomic_write(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either the old file or the whole new one."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath: str | os.PathLike) -> None:
        atomic_write(obj, str(filepath))

    def put_text(self, obj: str, filepath: str | os.PathLike,
                 encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), str(filepath))


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


def is_intact_checkpoint(path: str) -> bool:
    """Whether ``path`` is a complete torch checkpoint (a zip archive whose CRCs all match)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def latest_intact_checkpoint(work_dir: str) -> str | None:
    """The checkpoint to resume from: the one ``last_checkpoint`` names if it is intact, else
    the newest intact ``*.pth`` in ``work_dir`` (None when there is none).

    With atomic writes the first answer is always right; the scan covers checkpoints written
    without them (a job killed while plain mmengine wrote its file).
    """
    from mmengine.logging import print_log
    named = None
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named and is_intact_checkpoint(named):
            return named
    candidates = sorted((osp.join(work_dir, name) for name in os.listdir(work_dir)
                         if name.endswith('.pth')) if osp.isdir(work_dir) else [],
                        key=osp.getmtime, reverse=True)
    for path in candidates:
        if is_intact_checkpoint(path):
            if named:
                print_log(f'last_checkpoint names {named}, which is missing or incomplete; '
                          f'resuming from {path}, the newest intact checkpoint',
                          logger='current', level=30)
            return path
        print_log(f'skipping incomplete checkpoint {path}', logger='current', level=30)
    return None
