"""The model index lists every config with figures of the built model, and
mmpretrain's ModelHub / mmengine's config resolution find ours."""
import glob
import os.path as osp

import pytest
import yaml

from mmsemanticmim.apis.model_index import (INDEXED_FOLDERS, build_metafile,
                                            load_model_index, model_figures)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _written(folder):
    with open(osp.join(REPO, 'configs', folder, 'metafile.yml')) as f:
        return yaml.safe_load(f)


def test_every_config_is_indexed_and_every_indexed_path_exists():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        imports = yaml.safe_load(f)['Import']
    assert sorted(imports) == sorted(f'configs/{folder}/metafile.yml'
                                     for folder in INDEXED_FOLDERS)
    for folder in INDEXED_FOLDERS:
        meta = _written(folder)
        configs = {
            osp.relpath(p, REPO)
            for p in glob.glob(osp.join(REPO, 'configs', folder, '*.py'))
        }
        indexed = {m['Config'] for m in meta['Models']}
        assert indexed == configs, (folder, configs ^ indexed)
        for model in meta['Models']:
            assert model['Name'] == osp.splitext(
                osp.basename(model['Config']))[0]
            assert model['In Collection'] in {
                c['Name']
                for c in meta['Collections']
            }
        for collection in meta['Collections']:
            assert osp.isfile(osp.join(REPO, collection['README']))
            assert collection['Paper']['URL'].endswith('2406.10673')


def test_metadata_but_flops_equals_what_the_configs_build():
    """Everything but FLOPs, rebuilt from the configs (models on the meta
    device: every config, in seconds)."""
    for folder in INDEXED_FOLDERS:
        written = _written(folder)
        rebuilt = build_metafile(folder, REPO, flops=False)
        for model in written['Models']:
            model['Metadata'].pop('FLOPs')
        assert written == rebuilt, folder


# FLOPs need a forward on the CPU: the small models here; the rest with
# `tools/misc/update_model_index.py --check`.
CHEAP = [
    'semanticmim/semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo',
    'semanticmim/semanticmim-beit_vit-tiny-p4_1xb64-coslr-10e_mnist-demo',
    'semanticmim/baseline-pixel_vit-tiny-p4_1xb64-coslr-10e_mnist-demo',
    'semanticmim/semanticmim-maskfeat_vit-small-p16_8xb128-amp-coslr-100e_'
    'in100',
    'benchmarks/classification/vit-tiny-p4_semanticmim-maskfeat-pre_1xb8-'
    'coslr-2e_toy',
    'benchmarks/segmentation/upernet_vit-tiny-p4_semanticmim-maskfeat-pre_'
    '1xb2-2k_toy-ade20k-64x64',
    'benchmarks/detection/mask-rcnn_vit-tiny-p4_semanticmim-maskfeat-pre_'
    'simplefpn-1xb2-2e_toy-coco',
]


@pytest.mark.parametrize('config', CHEAP)
def test_recorded_flops_equal_the_built_model(config):
    folder, name = osp.split(config)
    recorded = next(
        m for m in _written(folder)['Models'] if m['Name'] == name)['Metadata']
    figures = model_figures(osp.join(REPO, 'configs', config + '.py'))
    assert figures == {
        'Parameters': recorded['Parameters'],
        'FLOPs': recorded['FLOPs']
    }


def test_mmpretrain_lists_and_builds_our_models():
    import mmpretrain
    from mmengine.analysis import get_model_complexity_info
    names = mmpretrain.list_models()
    ours = load_model_index()
    pretrain = [
        n for n in ours if 'benchmarks/classification' in ours[n]['Config']
        or '/semanticmim/' in ours[n]['Config']
    ]
    assert set(pretrain) <= set(names)
    name = 'semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo'
    model = mmpretrain.get_model(name)  # under the mmpretrain scope
    assert type(model).__name__ == 'SemanticMIM'
    model.forward = model.extract_feat
    flops = get_model_complexity_info(
        model, (3, 32, 32), show_table=False, show_arch=False)['flops']
    recorded = ours[name]['Metadata']['FLOPs']
    assert flops == recorded


def test_mmengine_resolves_mmsemanticmim_names_in_our_package():
    """``_base_ = 'mmsemanticmim::PATH'``: mmengine accepts the package
    (its table of config packages) and finds PATH in its ``.mim/configs``
    (a wheel install resolves it end to end in ``.ci/package_check.sh``;
    an editable one is looked for in site-packages by mmengine)."""
    from mmengine.config.utils import (MODULE2PACKAGE,
                                       _get_external_cfg_base_path,
                                       _get_package_and_cfg_path)

    from mmsemanticmim.utils.package_files import PACKAGE_DIR
    name = 'semanticmim/semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_' \
        'mnist-demo.py'
    assert MODULE2PACKAGE['mmsemanticmim'] == 'mmsemanticmim'
    package, path = _get_package_and_cfg_path(f'mmsemanticmim::{name}')
    assert (package, path) == ('mmsemanticmim', name)
    found = _get_external_cfg_base_path(PACKAGE_DIR, path)
    assert osp.samefile(found, osp.join(REPO, 'configs', name))
