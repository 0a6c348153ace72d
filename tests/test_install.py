"""The install's stack files and the GPU kit agree with CI's pins."""
import os.path as osp
import subprocess

from helpers import REPO


def _pins(path):
    pins = {}
    with open(osp.join(REPO, path)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if '==' in line:
                name, version = line.split('==')
                pins[name.strip().lower()] = version.strip()
    return pins


def test_stacks_pin_torch_torchvision_numpy_only():
    """The shared pins leave torch/torchvision/numpy to the stack files,
    and each stack pins all three (a constraint in both would conflict)."""
    shared = _pins('requirements/pinned.txt')
    assert not {'torch', 'torchvision', 'numpy'} & set(shared)
    for stack in ('default', 'torch2.1'):
        assert set(_pins(f'requirements/stacks/{stack}.txt')) == {
            'torch', 'torchvision', 'numpy'
        }


def test_gpu_kit_carries_the_pinned_versions():
    """The wheels carried to the GPU machine are the versions CI tests."""
    kit = _pins('requirements/gpu_kit.txt')
    shared = _pins('requirements/pinned.txt')
    default = _pins('requirements/stacks/default.txt')
    assert kit['mmengine'] == shared['mmengine']
    assert kit['mmpretrain'] == shared['mmpretrain']
    assert kit['mmcv-lite'] == shared['mmcv']
    assert kit['numpy'] == default['numpy']
    # what the GPU machine has is not carried again
    assert not {'torch', 'torchvision', 'opencv-python', 'transformers'} & \
        set(kit)


def test_unknown_stack_is_refused_naming_the_known_ones(tmp_path):
    proc = subprocess.run([
        'bash', 'requirements/install.sh',
        str(tmp_path / 'venv'), 'torch1.0'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert "unknown STACK 'torch1.0'" in proc.stderr
    assert 'default' in proc.stderr and 'torch2.1' in proc.stderr
    assert not (tmp_path / 'venv').exists()  # refused before any work
    make = subprocess.run(['make', '-n', 'test', 'STACK=torch1.0'],
                          cwd=REPO,
                          capture_output=True,
                          text=True)
    assert make.returncode != 0 and 'is not a stack' in make.stderr
