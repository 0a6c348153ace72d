"""The package outside the checkout: what import needs, where its shipped
files are found."""
import os.path as osp
import subprocess
import sys

import pytest

from helpers import REPO


def test_import_without_openmmlab_names_what_to_install():
    """One message naming every missing library and the install command,
    instead of the first ModuleNotFoundError deep in a stack."""
    code = (  # None in sys.modules: "not installed" to the import system
        'import sys\n'
        'sys.modules.update(mmpretrain=None, mmdet=None)\n'
        'import mmsemanticmim\n')
    run = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith('ImportError: mmsemanticmim needs mmpretrain, '
                           'mmdet, which are not installed'), last
    assert "pip install 'mmsemanticmim[mim]'" in last


def test_shipped_files_are_found_in_the_package():
    from mmsemanticmim.utils.package_files import (MIM_DIR, config_file,
                                                   package_file)
    path = config_file(
        'semanticmim', 'semanticmim-maskfeat_vit-tiny-p4_'
        '1xb64-coslr-10e_mnist-demo.py')
    assert osp.samefile(
        path, osp.join(REPO, 'configs', 'semanticmim', osp.basename(path)))
    # an editable install links .mim/ to the checkout's folders
    assert osp.isdir(osp.join(MIM_DIR, 'configs'))
    assert osp.samefile(
        package_file('tools', 'train.py'), osp.join(REPO, 'tools', 'train.py'))
    with pytest.raises(FileNotFoundError, match='reinstall'):
        config_file('semanticmim', 'no-such-config.py')
    with pytest.raises(ValueError, match='first part'):
        package_file('docs', 'x.md')


def test_train_tool_suits_mim():
    """``mim train`` runs ``.mim/tools/train.py CONFIG --launcher none``
    and adds ``--gpus N`` when the help mentions ``--gpus`` (which this
    tool does not take)."""
    run = subprocess.run([
        sys.executable, osp.join(REPO, 'tools/train.py'), '-h'
    ],
                         capture_output=True,
                         text=True)
    assert run.returncode == 0 and '--launcher' in run.stdout
    assert '--gpus' not in run.stdout


def test_collate_fn_of_an_external_base_config_builds(image_folder, tmp_path):
    """mmengine marks every typed dict of a ``PKG::`` base with
    ``_scope_``; the tools drop it from ``collate_fn`` dicts, which
    mmengine's Runner would pass to the function as a keyword."""
    from mmengine.runner import Runner

    from mmsemanticmim.engine import prepare_config
    from helpers import TINY_CONFIGS, tiny_cfg
    cfg = tiny_cfg(TINY_CONFIGS['maskfeat'], image_folder, str(tmp_path))
    cfg.train_dataloader.collate_fn['_scope_'] = 'mmsemanticmim'
    prepare_config(cfg)
    loader = Runner.build_dataloader(cfg.train_dataloader)
    batch = next(iter(loader))
    assert batch['inputs'].shape[1:] == (3, 32, 32)


def test_the_package_holds_no_benchmark_harness():
    """Speed arms, the GPU check and the study drivers are scripts beside
    the package (tools/profiling/, tools/analysis/), not something a user
    of the method imports."""
    import importlib.util
    assert importlib.util.find_spec('mmsemanticmim.benchmarks') is None
    assert importlib.util.find_spec('mmsemanticmim.evaluation') is None
    for module in ('study', 'study_gpu'):
        assert importlib.util.find_spec(
            f'mmsemanticmim.analysis.{module}') is None
    for script in ('semanticmim_study', 'semanticmim_study_gpu'):
        assert osp.isfile(osp.join(REPO, 'tools', 'analysis', f'{script}.py'))
    for script in ('pretrain_speed', 'pretrain_memory', 'gpu_check'):
        assert osp.isfile(osp.join(REPO, 'tools', 'profiling', f'{script}.py'))
