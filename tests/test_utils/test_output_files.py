"""Tools never write over their input, and never leave half a file."""
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from mmsemanticmim.utils.output_files import (refuse_overwriting_input,
                                              written_atomically)
from helpers import REPO


def _digest(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / 'sub' / 'model.pth'
    out.parent.mkdir()
    out.write_bytes(b'old')
    with pytest.raises(OSError, match='disk full'):
        with written_atomically(str(out)) as tmp:
            open(tmp, 'wb').write(b'half')
            raise OSError('disk full')
    assert out.read_bytes() == b'old'
    assert os.listdir(out.parent) == ['model.pth']
    with written_atomically(str(out)) as tmp:
        open(tmp, 'wb').write(b'new')
    assert out.read_bytes() == b'new'
    assert os.listdir(out.parent) == ['model.pth']


def test_an_output_that_is_an_input_is_refused(tmp_path):
    src = tmp_path / 'in.pth'
    src.write_bytes(b'x')
    link = tmp_path / 'link.pth'
    link.symlink_to(src)
    hard = tmp_path / 'hard.pth'
    os.link(src, hard)
    for out in (src, link, hard, tmp_path / '.' / 'in.pth'):
        with pytest.raises(ValueError, match='is the input'):
            refuse_overwriting_input([str(out)], [str(src)])
    refuse_overwriting_input([str(tmp_path / 'other.pth')], [str(src), None])


def test_extract_backbone_refuses_its_own_input(pretrain_checkpoint, tmp_path):
    """extract_backbone.py X X: refused before reading, X unchanged; the
    same through a link."""
    src = tmp_path / 'epoch_1.pth'
    shutil.copy(pretrain_checkpoint, src)
    before = _digest(src)
    link = tmp_path / 'latest.pth'
    link.symlink_to(src)
    for out in (src, link):
        proc = subprocess.run([
            sys.executable, 'tools/model_converters/extract_backbone.py',
            str(src),
            str(out)
        ],
                              cwd=REPO,
                              capture_output=True,
                              text=True)
        assert proc.returncode != 0
        assert 'is the input' in proc.stderr and 'Nothing written' in \
            proc.stderr
        assert _digest(src) == before
    proc = subprocess.run([
        sys.executable, 'tools/model_converters/extract_backbone.py',
        str(src),
        str(tmp_path / 'backbone.pth')
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(
        os.listdir(tmp_path)) == ['backbone.pth', 'epoch_1.pth', 'latest.pth']
