"""Reading and writing the timm checkpoint files of our encoder (the
library side of ``tools/model_converters/semanticmim_to_timm.py`` and
``timm_to_semanticmim.py``)."""
import json
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.logging import print_log

from mmsemanticmim.utils.image_norm import (IMAGENET_MEAN_UNIT,
                                            IMAGENET_STD_UNIT)
from mmsemanticmim.utils.output_files import (existing,
                                              refuse_overwriting_input,
                                              written_atomically)
from .encoder_file import load_encoder_checkpoint
from .encoder_meta import META_KEY
from .reading import read_checkpoint
from .timm_interop import (TIMM_MODEL_NAME, encoder_to_timm, pretrained_cfg,
                           timm_to_encoder)


def json_path(weights: str) -> str:
    """The arguments file written beside ``weights``."""
    return osp.splitext(weights)[0] + '.json'


#: timm's folder format (``timm.create_model('local-dir:DIR',
#: pretrained=True)``, timm >= 1.0.26 for safetensors): these two files.
FOLDER_CONFIG = 'config.json'
FOLDER_WEIGHTS = 'model.safetensors'


def is_timm_folder_target(dst: str) -> bool:
    """Whether ``dst`` names a folder (no suffix, or an existing folder);
    a ``.safetensors`` name is a file; anything else is refused.

    Raises:
        ValueError: A name with another suffix (``out.pth``).
    """
    if dst.endswith('.safetensors'):
        return False
    if osp.isdir(dst) or not osp.splitext(dst.rstrip('/'))[1]:
        return True
    raise ValueError(f'{dst}: give a folder (no suffix) for timm\'s format '
                     'or a name ending in .safetensors')


def write_timm_checkpoint(src: str,
                          dst: str,
                          img_size=None,
                          drop_pooling_norm=False,
                          mean=IMAGENET_MEAN_UNIT,
                          std=IMAGENET_STD_UNIT,
                          num_heads: Optional[int] = None) -> dict:
    """Write the encoder of ``src`` for timm; returns the config written.

    ``dst`` ending in ``.safetensors``: the weights, and beside them a json
    of ``timm.create_model`` arguments. Otherwise ``dst`` is a folder in
    timm's own format: ``config.json`` (``architecture``, ``model_args``,
    ``pretrained_cfg``) and ``model.safetensors``, which
    ``timm.create_model('local-dir:DST', pretrained=True)`` loads.
    ``num_heads`` gives the head count where ``src`` does not record it.
    """
    try:
        from safetensors.torch import save_file
    except ImportError:
        raise ImportError('safetensors is missing: pip install '
                          'safetensors (or pip install -e .[optional])')
    folder = is_timm_folder_target(dst)
    if folder:
        if osp.isfile(dst):
            raise ValueError(f'{dst} is a file: give a folder, or a name '
                             'ending in .safetensors')
        weights_path = osp.join(dst, FOLDER_WEIGHTS)
        config_path = osp.join(dst, FOLDER_CONFIG)
    else:
        weights_path, config_path = dst, json_path(dst)
    refuse_overwriting_input([weights_path, config_path], [src])
    ckpt = load_encoder_checkpoint(src)
    if ckpt.head is not None and any(
            k.startswith('head.layers.pre_logits') for k in ckpt.full_state):
        raise ValueError(
            f'{src}: the classifier has a hidden pre-logits layer, which '
            "timm's linear head cannot hold; convert a copy without the "
            "'head.*' keys (the encoder alone).")
    if num_heads is not None:
        ckpt.meta.set_num_heads(num_heads, src)
    if img_size is not None and len(img_size) == 1:
        img_size = [img_size[0]] * 2
    tstate, args = encoder_to_timm(
        ckpt.state,
        ckpt.meta,
        img_size=img_size,
        drop_pooling_norm=drop_pooling_norm,
        head=ckpt.head,
        source=src)
    if folder:
        cfg = dict(
            architecture=TIMM_MODEL_NAME,
            num_classes=args['num_classes'],
            num_features=args['embed_dim'],
            global_pool=args['global_pool'],
            model_args=args,
            pretrained_cfg=pretrained_cfg(args, mean, std),
            **{META_KEY: ckpt.meta.to_dict()})
        os.makedirs(dst, exist_ok=True)
    else:
        cfg = dict(
            model_name=TIMM_MODEL_NAME,
            model_args=args,
            pretrained_cfg=pretrained_cfg(args, mean, std),
            **{META_KEY: ckpt.meta.to_dict()})
    with written_atomically(weights_path) as tmp:
        save_file(tstate, tmp, metadata={'timm_config': json.dumps(cfg)})
    with written_atomically(config_path) as tmp, open(tmp, 'w') as f:
        json.dump(cfg, f, indent=2)
    return cfg


def read_timm(path: str):
    """The timm state dict in ``path`` (a weights file, or a folder in
    timm's format) and the config written with it, if any."""
    cfg = None
    if osp.isdir(path):
        config_path = osp.join(path, FOLDER_CONFIG)
        if not osp.isfile(osp.join(path, FOLDER_WEIGHTS)):
            raise ValueError(f'{path} is a folder without {FOLDER_WEIGHTS} '
                             "(timm's folder format)")
        state, _ = read_timm(osp.join(path, FOLDER_WEIGHTS))
        if osp.isfile(config_path):
            with open(config_path) as f:
                cfg = json.load(f)
        return state, cfg
    if path.endswith('.safetensors'):
        try:
            from safetensors import safe_open
        except ImportError:
            raise ImportError('safetensors is missing: pip install '
                              'safetensors')
        try:
            with safe_open(path, framework='pt') as f:
                state = {k: f.get_tensor(k) for k in f.keys()}
                saved = (f.metadata() or {}).get('timm_config')
        except Exception as e:
            raise ValueError(f'{path} cannot be read as safetensors '
                             f'({type(e).__name__}: {e})') from None
        cfg = json.loads(saved) if saved else None
    else:
        state = read_checkpoint(path)  # errors name the path
        for key in ('state_dict', 'model', 'module'):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
    beside = osp.splitext(path)[0] + '.json'
    if osp.exists(beside):
        with open(beside) as f:
            cfg = json.load(f)
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds no state dict.')
    return state, cfg


def convert_timm_checkpoint(src: str,
                            dst: str,
                            layer_type: Optional[str] = None,
                            num_heads: Optional[int] = None) -> dict:
    """Write the timm ViT ``src`` (a weights file or timm's folder) as our
    encoder ``dst``; returns the encoder meta written.

    ``num_heads`` is needed where ``src`` has no config that says it.
    """
    refuse_overwriting_input([dst],
                             [src,
                              existing(osp.splitext(src)[0] + '.json')])
    state, cfg = read_timm(src)
    cfg = cfg or {}
    ours = cfg.get(META_KEY)
    args = dict(cfg.get('model_args') or {})
    layer_type = layer_type or (ours or {}).get('layer_type')
    enc, meta, head = timm_to_encoder(
        state,
        args or None,
        layer_type=layer_type,
        num_heads=num_heads,
        source=src)
    meta = meta.to_dict()
    if head is not None:
        print_log(
            f"{src}: the classifier ({head['weight'].shape[0]} "
            'classes) is not part of the encoder and is left out.',
            logger='current')
    with written_atomically(dst) as tmp:
        torch.save(
            dict(
                meta={
                    META_KEY: meta,
                    'source': osp.basename(src)
                },
                state_dict=enc), tmp)
    return meta
