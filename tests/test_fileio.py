"""rmt_mm.utils.fileio: checkpoints written atomically, and the checkpoint a resume picks."""
import os

import pytest
import torch


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    from rmt_mm.utils.fileio import AtomicLocalBackend
    backend, path = AtomicLocalBackend(), tmp_path / 'iter_2.pth'
    backend.put(b'old checkpoint', path)

    def disk_full(*args):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError, match='No space left'):
        backend.put(b'new checkpoint that never lands', path)
    assert path.read_bytes() == b'old checkpoint'
    assert os.listdir(tmp_path) == ['iter_2.pth']  # no temporary file left behind
    monkeypatch.undo()
    backend.put_text('iter_2.pth', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_2.pth'


def test_resume_picks_the_newest_intact_checkpoint(tmp_path):
    from rmt_mm.utils.fileio import latest_intact_checkpoint
    good, newer, newest = (str(tmp_path / f'iter_{i}.pth') for i in (2, 4, 6))
    torch.save({'state_dict': {'w': torch.ones(3)}}, good)
    torch.save({'state_dict': {'w': torch.ones(3000)}}, newer)
    with open(newer, 'rb') as f:
        data = f.read()
    with open(newer, 'wb') as f:  # what a kill in the middle of a plain write leaves
        f.write(data[:len(data) // 2])
    with open(newest, 'wb') as f:
        f.write(b'')
    os.utime(good, (1, 1))
    (tmp_path / 'last_checkpoint').write_text(newest)
    assert latest_intact_checkpoint(str(tmp_path)) == good
    (tmp_path / 'last_checkpoint').write_text(good)
    assert latest_intact_checkpoint(str(tmp_path)) == good
    assert latest_intact_checkpoint(str(tmp_path / 'nothing_here')) is None
