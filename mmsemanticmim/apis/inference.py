"""Build any of our configs or indexed models, load weights safely, and
extract encoder features from image files."""
import copy
import fnmatch
import os.path as osp
from typing import List, Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.runner import load_state_dict
from mmpretrain.apis import FeatureExtractor

from mmsemanticmim.checkpoint.reading import read_checkpoint
from .model_index import load_model_index

ConfigType = Union[str, Config]


def list_models(pattern: Optional[str] = None) -> List[str]:
    """Names in our model index (pre-training and downstream configs),
    optionally filtered by an ``fnmatch`` pattern (``'*beit*'``)."""
    names = sorted(load_model_index())
    if pattern is None:
        return names
    return [n for n in names if fnmatch.fnmatch(n, pattern)]


def _config_of(model: ConfigType) -> Config:
    if isinstance(model, Config):
        return copy.deepcopy(model)
    if isinstance(model, str) and model.endswith('.py'):
        if not osp.isfile(model):
            raise FileNotFoundError(f'config {model} not found')
        return Config.fromfile(model)
    index = load_model_index()
    if model not in index:
        raise ValueError(
            f'{model!r} is neither a config file nor a model of the '
            'mmsemanticmim index; mmsemanticmim.apis.list_models() names '
            'them.')
    return Config.fromfile(index[model]['Config'])


def load_weights(model: torch.nn.Module,
                 checkpoint: str,
                 strict: bool = True) -> dict:
    """Load a checkpoint (file or URL) into ``model`` without running code
    from it (:func:`~mmsemanticmim.checkpoint.read_checkpoint`), strictly by
    default; sets ``dataset_meta`` from the checkpoint's meta where it has
    one. Returns the checkpoint's meta."""
    ckpt = read_checkpoint(checkpoint)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    if not isinstance(state, dict):
        raise ValueError(f'{checkpoint} holds no state dict')
    load_state_dict(model, state, strict=strict)
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    if isinstance(meta, dict) and meta.get('dataset_meta'):
        model.dataset_meta = meta['dataset_meta']
    return meta


def init_model(config: ConfigType,
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build a model from one of our configs (or an index name) with the
    library its ``default_scope`` names, in eval mode on ``device``.

    Pre-training and classification configs are built by mmpretrain's
    ``get_model``, segmentation ones by ``mmseg.apis.init_model``,
    detection ones by ``mmdet.apis.init_detector``; a checkpoint is then
    loaded strictly and weights-only (:func:`load_weights`). The model
    keeps its config (``model.cfg``; mmpretrain's inferencers read the
    ``model._config`` its ``get_model`` sets).

    Args:
        config (str | Config): A config file, a ``Config``, or a name of
            :func:`list_models`.
        checkpoint (str, optional): Weights to load (file or URL).
        device (str | torch.device): Where to put the model.
        cfg_options (dict, optional): Overrides merged into the config.
    """
    cfg = _config_of(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope', 'mmpretrain')
    if scope == 'mmseg':
        from mmseg.apis import init_model as build
        model = build(cfg, None, device=str(device))
    elif scope == 'mmdet':
        from mmdet.apis import init_detector
        model = init_detector(cfg, None, device=str(device))
    else:
        from mmpretrain import get_model
        model = get_model(cfg, pretrained=False, device=device)
    model.cfg = cfg
    if checkpoint is not None:
        load_weights(model, checkpoint)
    model.eval()
    return model


def get_model(model: str,
              pretrained: Union[bool, str] = False,
              device: Union[str, torch.device] = 'cpu') -> torch.nn.Module:
    """A model of our index (or config file), with its published weights
    (``pretrained=True``) or a checkpoint file / URL (``pretrained=PATH``).

    Raises:
        ValueError: ``pretrained=True`` for a model without published
            weights (the index's ``Weights`` is empty until they are).
    """
    checkpoint = None
    if pretrained is True:
        entry = load_model_index().get(model)
        checkpoint = entry.get('Weights') if entry else None
        if not checkpoint:
            raise ValueError(
                f'{model!r} has no published weights yet: pass '
                'pretrained=PATH (a checkpoint of yours) or pretrained=False.')
    elif pretrained:
        checkpoint = pretrained
    return init_model(model, checkpoint, device)


class SemanticMIMFeatureExtractor(FeatureExtractor):
    """mmpretrain's ``FeatureExtractor`` for a model with a SemanticMIM
    encoder as ``backbone`` (pre-training or classification configs).

    Each image gives a dict per returned encoder layer (the encoder's
    ``out_indices``; the last by default): ``proxy`` (Np, D), the [PROXY]
    tokens, and ``patch`` (D, h, w), the patch tokens on their grid. A
    config without a test pipeline (pre-training) resizes images to the
    encoder's input size.

    Example:
        >>> extractor = SemanticMIMFeatureExtractor(CONFIG, pretrained=CKPT)
        >>> feats = extractor('demo.jpg')[0]   # dict(proxy=..., patch=...)
    """

    def _init_pipeline(self, cfg: Config):
        if not cfg.get('test_dataloader', None):
            h, w = self.model.backbone.img_size
            cfg = copy.deepcopy(cfg)
            cfg.test_dataloader = dict(
                dataset=dict(pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='mmpretrain.Resize', scale=(w, h)),
                    dict(type='mmpretrain.PackInputs'),
                ]))
        return super()._init_pipeline(cfg)

    def forward(self, inputs: dict, **kwargs) -> List:
        backbone = getattr(self.model, 'backbone', None)
        if backbone is None or not hasattr(backbone, 'num_proxy_tokens'):
            raise TypeError(
                'SemanticMIMFeatureExtractor needs a model whose backbone is '
                f'a SemanticMIM encoder, got {type(backbone).__name__}')
        images = self.model.data_preprocessor(inputs, False)['inputs']
        h, w = (s // backbone.patch_size for s in images.shape[-2:])
        Np = backbone.num_proxy_tokens
        out_type = backbone.out_type
        backbone.out_type = 'raw'  # every token, for this forward only
        try:
            layers = backbone(images)
        finally:
            backbone.out_type = out_type
        results = []
        for i in range(images.shape[0]):
            per_layer = [
                dict(
                    proxy=t[i, :Np],
                    patch=t[i, Np:].transpose(0, 1).reshape(-1, h, w))
                for t in layers
            ]
            results.append(per_layer[0] if len(per_layer) == 1 else per_layer)
        return results


def extract_features(model: Union[str, Config, torch.nn.Module],
                     images: Union[str, Sequence[str]],
                     checkpoint: Optional[str] = None,
                     batch_size: int = 1) -> List:
    """Encoder features of image files (or a folder of them): one dict
    ``proxy`` (Np, D) / ``patch`` (D, h, w) per image (a list of them per
    image where the encoder returns several layers).

    Args:
        model: A model of :func:`init_model`, or a config / index name to
            build (with ``checkpoint`` loaded weights-only).
        images: An image file, a folder, or a list of files.
        checkpoint (str, optional): Weights for a model built here.
        batch_size (int): Images per forward.
    """
    if not isinstance(model, torch.nn.Module):
        model = init_model(model, checkpoint)
    elif checkpoint is not None:
        load_weights(model, checkpoint)
    if not hasattr(model, '_config') or not hasattr(
            getattr(model, 'backbone', None), 'num_proxy_tokens'):
        raise TypeError(
            'extract_features takes a pre-training or classification model '
            'of ours (mmpretrain-built, SemanticMIM encoder as backbone), '
            f'got a {type(model).__name__}; for a segmentation or detection '
            'model call model.backbone on preprocessed images.')
    device = next(model.parameters()).device
    extractor = SemanticMIMFeatureExtractor(model, device=device)
    with torch.no_grad():
        return extractor(images, batch_size=batch_size)
