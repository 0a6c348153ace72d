"""The package's model index (``model-index.yml`` and the metafiles it
imports, mmpretrain's schema) and its registration in mmpretrain's
``ModelHub``, so that ``mmpretrain.list_models`` / ``get_model`` find the
configs mmpretrain can build (pre-training and classification)."""
import copy
import functools
import os.path as osp
from typing import Dict

from mmsemanticmim.utils.package_files import package_file

#: Metafiles (under ``configs/``) whose models mmpretrain builds; the
#: segmentation and detection ones are built by mmseg / mmdet
#: (:func:`mmsemanticmim.apis.init_model` picks the library).
MMPRETRAIN_METAFILES = ('semanticmim/metafile.yml',
                        'benchmarks/classification/metafile.yml')

_registered = False


def model_index_path() -> str:
    """``model-index.yml`` of this installation."""
    return package_file('model-index.yml')


def load_model_index() -> Dict[str, dict]:
    """Every indexed model by name: its metafile entry, with ``Config``
    made absolute."""
    from mmengine.fileio import load
    index = model_index_path()
    root = osp.dirname(index)
    models = {}
    for metafile in load(index)['Import']:
        for model in load(osp.join(root, metafile))['Models']:
            entry = dict(model)
            entry['Config'] = osp.join(root, model['Config'])
            models[model['Name']] = entry
    return models


def register_model_index() -> None:
    """Add our pre-training and classification models to mmpretrain's
    ``ModelHub`` (once per process; its registry of model names, as our
    components are registered in its module registries)."""
    global _registered
    if _registered:
        return
    from mmpretrain.apis import ModelHub
    try:
        root = osp.dirname(model_index_path())
    except FileNotFoundError as e:
        import warnings
        warnings.warn(f'{e} mmpretrain.list_models() will not list ours.')
        return
    for metafile in MMPRETRAIN_METAFILES:
        ModelHub.register_model_index(
            osp.join(root, 'configs', metafile), config_prefix=root)
    _registered = True


#: Config folders (under ``configs/``) the index covers, with their
#: metafile's collections: (folder, collection of each name prefix).
INDEXED_FOLDERS = {
    'semanticmim':
    (('semanticmim-', 'SemanticMIM'), ('baseline-', 'SemanticMIM-Baseline')),
    'benchmarks/classification': (('', 'SemanticMIM-Classification'), ),
    'benchmarks/segmentation': (('', 'SemanticMIM-Segmentation'), ),
    'benchmarks/detection': (('', 'SemanticMIM-Detection'), ),
}


def _registry_of(scope: str):
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    elif scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    return MODELS


def figure_input_size(model, cfg) -> tuple:
    """The (H, W) FLOPs are counted at: the encoder's input size (the
    pre-training size; the crop or image size of a downstream config)."""
    size = cfg.model.get('data_preprocessor', {}).get('size', None)
    if size is not None:
        return tuple(size)
    return tuple(model.backbone.img_size)


def model_figures(config: str, flops: bool = True) -> Dict[str, int]:
    """``Parameters`` of the model a config builds (all of it: encoder,
    reconstruction stack and heads) and, with ``flops``, its ``FLOPs`` as
    mmengine's ``get_model_complexity_info`` counts them (multiply-adds of
    linear and convolution layers, as OpenMMLab's ``get_flops.py``; fused
    attention is not counted) for one image of :func:`figure_input_size`:
    ``extract_feat`` of pre-training, classification and detection models
    (the features a downstream head reads), the whole forward of a
    segmentation model.

    Without ``flops`` the model is built on the ``meta`` device (no
    memory, no initialisation), so every config is cheap to count.
    """
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(config)
    scope = cfg.get('default_scope', 'mmpretrain')
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('pretrained', None)
    with DefaultScope.overwrite_default_scope(scope), \
            torch.device('cpu' if flops else 'meta'):
        model = _registry_of(scope).build(model_cfg)
    figures = dict(Parameters=sum(p.numel() for p in model.parameters()))
    if not flops:
        return figures
    from mmengine.analysis import get_model_complexity_info
    from mmengine.logging import MMLogger
    h, w = figure_input_size(model, cfg)
    model.eval()
    if scope == 'mmseg':
        forward = functools.partial(model.forward, mode='tensor')
    else:
        forward = model.extract_feat
    model.forward = forward
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel('ERROR')  # its per-operator warnings, once per config
    try:
        with torch.no_grad():
            info = get_model_complexity_info(
                model,
                inputs=(torch.zeros(1, 3, h, w), ),
                show_table=False,
                show_arch=False)
    finally:
        logger.setLevel(level)
    figures['FLOPs'] = int(info['flops'])
    return figures


PAPER = dict(
    Title='SemanticMIM: Marring Masked Image Modeling with Semantics '
    'Compression for General Visual Representation',
    URL='https://arxiv.org/abs/2406.10673')
CODE = dict(URL='https://github.com/yyk-wew/SemanticMIM')

#: The training set a config name's last part names.
TRAINING_DATA = (
    ('toy', 'Toy images (CPU tests)'),
    ('mnist-demo', 'MNIST (demo digits)'),
    ('in1k', 'ImageNet-1k'),
    ('in100', 'ImageNet-100'),
    ('ade20k', 'ADE20K'),
    ('coco', 'COCO'),
    ('voc12', 'PASCAL VOC 2012'),
)

#: What each collection is, for its ``Metadata``.
COLLECTIONS = {
    'SemanticMIM':
    dict(
        Architecture=['ViT', 'PROXY tokens'],
        **{'Training Techniques': ['AdamW', 'Masked Image Modeling']}),
    'SemanticMIM-Baseline':
    dict(
        Architecture=['ViT'],
        **{'Training Techniques': ['AdamW', 'Masked Image Modeling']}),
    'SemanticMIM-Classification':
    dict(Architecture=['ViT'], **{'Training Techniques': ['AdamW']}),
    'SemanticMIM-Segmentation':
    dict(
        Architecture=['ViT', 'UperNet'], **{'Training Techniques': ['AdamW']}),
    'SemanticMIM-Detection':
    dict(
        Architecture=['ViT', 'Mask R-CNN', 'SimpleFPN'],
        **{'Training Techniques': ['AdamW']}),
}


def _training_data(name: str) -> str:
    last = name.rsplit('_', 1)[-1]
    for key, data in TRAINING_DATA:
        if last.startswith(key):
            return data
    raise ValueError(f'config {name}: its last part {last!r} names no known '
                     f'training set ({[k for k, _ in TRAINING_DATA]})')


def metafile_entry(config: str,
                   root: str,
                   collection: str,
                   flops: bool = True) -> dict:
    """One ``Models`` entry of a metafile, figures computed from the
    built model (:func:`model_figures`)."""
    import re

    from mmengine.config import Config
    name = osp.splitext(osp.basename(config))[0]
    cfg = Config.fromfile(config)
    metadata = {}
    train_cfg = cfg.get('train_cfg', {}) or {}
    if train_cfg.get('max_epochs'):
        metadata['Epochs'] = int(train_cfg['max_epochs'])
    elif train_cfg.get('max_iters'):
        metadata['Iterations'] = int(train_cfg['max_iters'])
    gpus_batch = re.search(r'(\d+)xb(\d+)', name)
    if gpus_batch:
        metadata['Batch Size'] = int(gpus_batch.group(1)) * int(
            gpus_batch.group(2))
    metadata.update(model_figures(config, flops=flops))
    metadata['Training Data'] = _training_data(name)
    return {
        'Name': name,
        'Metadata': metadata,
        'In Collection': collection,
        'Results': None,
        'Weights': None,
        'Config': osp.relpath(config, root).replace(osp.sep, '/'),
    }


def build_metafile(folder: str, root: str, flops: bool = True) -> dict:
    """The metafile of ``configs/{folder}``: its collections and a model
    per config (``_base_`` and helper folders excluded)."""
    import glob
    prefixes = INDEXED_FOLDERS[folder]
    models, used = [], []
    for config in sorted(glob.glob(osp.join(root, 'configs', folder, '*.py'))):
        name = osp.basename(config)
        collection = next((c for p, c in prefixes if name.startswith(p)), None)
        if collection is None:
            raise ValueError(f'{config}: its name starts with none of '
                             f'{[p for p, _ in prefixes]}')
        if collection not in used:
            used.append(collection)
        models.append(metafile_entry(config, root, collection, flops))
    readme = f'configs/{folder}/README.md'
    collections = [
        dict(
            Name=c,
            Metadata=dict(COLLECTIONS[c]),
            Paper=dict(PAPER),
            README=readme,
            Code=dict(CODE)) for c in used
    ]
    return dict(Collections=collections, Models=models)
