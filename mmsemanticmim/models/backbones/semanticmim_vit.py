"""The ViT encoder with learnable [PROXY] tokens (SemanticMIM's backbone)."""
import warnings
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks.transformer import PatchEmbed
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import (build_norm_layer, resize_pos_embed,
                                     to_2tuple)

from mmsemanticmim.checkpoint import (EncoderCheckpoint, EncoderMeta,
                                      load_encoder_checkpoint)
from mmsemanticmim.registry import MODELS
from mmsemanticmim.utils.torch_features import is_exporting
from ..utils import (ProxyTransformerLayer, check_layer_type, gather_tokens,
                     init_linear_and_norm, mask_to_indices, parse_arch,
                     run_layer)


def _pretrained_cfg(init_cfg) -> Optional[dict]:
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for c in cfgs:
        if isinstance(c, dict) and c.get('type') == 'Pretrained':
            return c
    return None


def _is_pretrained(init_cfg) -> bool:
    return _pretrained_cfg(init_cfg) is not None


@MODELS.register_module()
class SemanticMIMViT(BaseBackbone):
    """Vision Transformer whose sequence starts with learnable [PROXY] tokens.

    The encoder that SemanticMIM pre-trains and transfers. Like dinov2's
    register tokens and timm's prefix tokens, the proxies take part in every
    self-attention layer but are left out of pooled and dense outputs; unlike
    a class token, each proxy has its own position-embedding slot
    (``pos_embed`` is (1, num_proxy_tokens + N, D), proxies first). Parameter
    names follow mmpretrain's ``VisionTransformer`` (``proxy_tokens`` takes
    the place of ``cls_token``), so one mmpretrain checkpoint format serves
    pre-training and every downstream toolbox.

    Args:
        arch (str | dict): A name of mmpretrain's ``VisionTransformer``
            architectures ('small', 'base', 'large', 'deit-tiny', ...) or a
            dict with ``embed_dims``, ``num_layers``, ``num_heads`` and
            ``feedforward_channels``. Defaults to 'base'.
        img_size (int | tuple): Pre-training input size; sets the position
            grid. Must be divisible by ``patch_size``. Defaults to 224.
        patch_size (int): Patch size. Defaults to 16.
        in_channels (int): Input channels. Defaults to 3.
        num_proxy_tokens (int, optional): Number of [PROXY] tokens. None
            reads it from the ``Pretrained`` checkpoint of ``init_cfg``.
            Defaults to 8.
        layer_type (str, optional): ``'vit'`` (plain layers, qkv bias) or
            ``'beit'`` (q/v bias, layer scale, BEiT's depth-rescaled init);
            None reads it from the checkpoint. Defaults to 'vit'.
        layer_scale_init_value (float, optional): Residual layer-scale init;
            0 turns it off; None follows the checkpoint. Defaults to 0.
        out_indices (int | Sequence[int]): Layers whose output is returned.
        drop_rate (float): Dropout after position embedding and in layers.
        drop_path_rate (float): Stochastic depth, linear over the layers.
        norm_cfg (dict): Norm layers.
        final_norm (bool): Normalise the last layer's output (``ln1``).
        out_type (str): ``'raw'`` (B, Np + N, D) all tokens; ``'featmap'``
            (B, D, H, W) patch tokens; ``'avg_featmap'`` (B, D) mean of patch
            tokens then ``ln2``; ``'cls_token'`` (B, D) mean of the proxies
            then ``ln2``.
        frozen_stages (int): Freeze the stem and this many layers (-1: none).
        interpolate_mode (str): Position-embedding resizing for other sizes.
        with_cp (bool): Activation checkpointing of each layer in training.
        patch_cfg (dict): Overrides of mmcv's ``PatchEmbed`` config.
        init_cfg (dict | list, optional): Initialisation config. A
            ``Pretrained`` entry (``checkpoint``, optional ``prefix``, e.g.
            ``'backbone.'`` for a pre-training checkpoint) loads strictly:
            every encoder weight must be in the checkpoint and fit, or
            loading fails with the key and the config value to change; the
            position embedding is resized to this ``img_size``.
        pretrained (str, optional): A checkpoint, as mmseg's
            ``EncoderDecoder`` passes its ``model.pretrained``: the same as
            a ``Pretrained`` ``init_cfg`` (with a warning).
    """
    arch_zoo = VisionTransformer.arch_zoo
    OUT_TYPES = ('raw', 'featmap', 'avg_featmap', 'cls_token')

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 img_size: Union[int, Sequence[int]] = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 num_proxy_tokens: Optional[int] = 8,
                 layer_type: Optional[str] = 'vit',
                 layer_scale_init_value: Optional[float] = 0.,
                 out_indices: Union[int, Sequence[int]] = -1,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 final_norm: bool = True,
                 out_type: str = 'avg_featmap',
                 frozen_stages: int = -1,
                 interpolate_mode: str = 'bicubic',
                 with_cp: bool = False,
                 patch_cfg: dict = dict(),
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 pretrained: Optional[str] = None) -> None:
        if pretrained is not None:
            # mmseg's EncoderDecoder hands its ``model.pretrained`` (set in
            # mmseg's stock base configs) to the backbone, as mmseg's own
            # backbones take it: the same as init_cfg's Pretrained
            if _is_pretrained(init_cfg):
                raise ValueError(
                    f'The backbone got pretrained={pretrained!r} (mmseg '
                    "passes the config's model.pretrained) and a Pretrained "
                    'init_cfg: set model.pretrained=None and keep '
                    'model.backbone.init_cfg.')
            warnings.warn(
                f'pretrained={pretrained!r} (model.pretrained of an mmseg '
                "config) is read as init_cfg=dict(type='Pretrained', "
                'checkpoint=...); set model.pretrained=None and '
                'model.backbone.init_cfg instead.')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = parse_arch(arch)
        # the Pretrained checkpoint, once read (for None settings), until
        # init_weights loads it: one read of the file per process
        self._pretrained: Optional[EncoderCheckpoint] = None
        if None in (num_proxy_tokens, layer_type, layer_scale_init_value):
            self._pretrained = self._read_pretrained(required=True)
            settings = self._pretrained.meta.layer_kwargs()
            if num_proxy_tokens is None:
                num_proxy_tokens = settings['num_proxy_tokens']
            if layer_type is None:
                layer_type = settings['layer_type']
            if layer_scale_init_value is None:
                layer_scale_init_value = settings['layer_scale_init_value']
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']

        self.img_size = tuple(to_2tuple(img_size))
        if any(s % patch_size for s in self.img_size):
            raise ValueError(
                f'img_size {self.img_size} must be divisible by patch_size '
                f'{patch_size}: set img_size to a multiple of {patch_size}.')
        if num_proxy_tokens < 0:
            raise ValueError('num_proxy_tokens must be >= 0, got '
                             f'{num_proxy_tokens}')
        check_layer_type(layer_type, 'model.backbone.layer_type')
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'out_type must be one of {self.OUT_TYPES}, got '
                             f'{out_type!r}')
        if out_type == 'cls_token' and num_proxy_tokens == 0:
            raise ValueError("out_type='cls_token' pools the proxies, but "
                             'num_proxy_tokens is 0.')
        self.patch_size = patch_size
        self.num_proxy_tokens = num_proxy_tokens
        self.layer_type = layer_type
        self.layer_scale_init_value = layer_scale_init_value
        self.out_type = out_type
        self.final_norm = final_norm
        self.interpolate_mode = interpolate_mode
        self.with_cp = with_cp
        self.frozen_stages = frozen_stages

        self.patch_embed = PatchEmbed(**dict(
            in_channels=in_channels,
            input_size=self.img_size,
            embed_dims=self.embed_dims,
            conv_type='Conv2d',
            kernel_size=patch_size,
            stride=patch_size,
            **patch_cfg))
        self.patch_resolution = self.patch_embed.init_out_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]

        self.proxy_tokens = nn.Parameter(
            torch.zeros(1, num_proxy_tokens, self.embed_dims))
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_proxy_tokens + num_patches, self.embed_dims))
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        if isinstance(out_indices, int):
            out_indices = [out_indices]
        self.out_indices = [i % self.num_layers for i in out_indices]
        for given, i in zip(out_indices, self.out_indices):
            if not -self.num_layers <= given < self.num_layers:
                raise ValueError(f'out_indices {list(out_indices)} out of '
                                 f'range for {self.num_layers} layers')

        # on the CPU whatever the default device (a model built on 'meta')
        dpr = torch.linspace(
            0, drop_path_rate, self.num_layers, device='cpu').tolist()
        self.layers = nn.ModuleList([
            ProxyTransformerLayer(
                embed_dims=self.embed_dims,
                num_heads=self.arch_settings['num_heads'],
                feedforward_channels=self.
                arch_settings['feedforward_channels'],
                layer_type=layer_type,
                layer_scale_init_value=layer_scale_init_value,
                drop_rate=drop_rate,
                drop_path_rate=dpr[i],
                norm_cfg=norm_cfg) for i in range(self.num_layers)
        ])
        self.ln1 = build_norm_layer(norm_cfg, self.embed_dims) \
            if final_norm else nn.Identity()
        if out_type in ('avg_featmap', 'cls_token'):
            self.ln2 = build_norm_layer(norm_cfg, self.embed_dims)
        if frozen_stages > 0:
            self._freeze_stages()
        # every loader (init_cfg, load_from, mmseg / mmdet) gets the
        # position embedding resized to this grid, as mmpretrain's
        # VisionTransformer does
        self._register_load_state_dict_pre_hook(self._resize_pos_embed_hook)

    @property
    def norm1(self) -> nn.Module:
        return self.ln1

    # ------------------------------------------------------------- init ---
    def checkpoint_meta(self) -> EncoderMeta:
        """What a checkpoint must say for a downstream config to rebuild
        this encoder (stored under ``meta['semanticmim_backbone']``)."""
        return EncoderMeta(
            num_proxy_tokens=self.num_proxy_tokens,
            layer_type=self.layer_type,
            layer_scale=self.layers[0].gamma_1 is not None,
            embed_dims=self.embed_dims,
            num_layers=self.num_layers,
            num_heads=self.arch_settings['num_heads'],
            feedforward_channels=self.arch_settings['feedforward_channels'],
            patch_size=self.patch_size,
            img_size=list(self.img_size))

    @classmethod
    def from_checkpoint(cls,
                        path: str,
                        num_heads: Optional[int] = None,
                        **overrides) -> 'SemanticMIMViT':
        """The encoder a checkpoint holds (pre-training or extracted),
        rebuilt from its meta and loaded.

        Args:
            path (str): The checkpoint.
            num_heads (int, optional): The head count, for a file that does
                not record it (else :class:`HeadCountUnknownError`).
            **overrides: Other construction arguments (``img_size``,
                ``out_type``, ``arch``, ...).
        """
        info = load_encoder_checkpoint(path)
        meta = info.meta
        if num_heads is not None:
            meta.set_num_heads(num_heads, path)
        if 'arch' not in overrides:
            meta.require_heads(path)
        kwargs = dict(
            meta.backbone_kwargs() if 'arch' not in overrides else dict(
                img_size=list(meta.img_size),
                patch_size=meta.patch_size,
                **meta.layer_kwargs()),
            init_cfg=dict(
                type='Pretrained', checkpoint=path, prefix=info.prefix))
        kwargs.update(overrides)
        encoder = cls(**kwargs)
        encoder._pretrained = info  # read once
        encoder.init_weights()
        return encoder

    def _read_pretrained(self,
                         required: bool = False
                         ) -> Optional[EncoderCheckpoint]:
        """The ``Pretrained`` checkpoint of ``init_cfg``, read once."""
        cfg = _pretrained_cfg(self.init_cfg)
        if cfg is None:
            if required:
                raise ValueError(
                    'num_proxy_tokens / layer_type / layer_scale_init_value'
                    '=None read their value from the checkpoint, but '
                    "init_cfg has no dict(type='Pretrained', checkpoint=...)"
                    ': give the values or the checkpoint.')
            return None
        if not cfg.get('checkpoint'):
            raise ValueError(
                "The backbone's init_cfg is dict(type='Pretrained') without "
                'a checkpoint: set model.backbone.init_cfg.checkpoint=PATH '
                'in the config (tools/train.py: --pretrained PATH or '
                '--cfg-options model.backbone.init_cfg.checkpoint=PATH).')
        if self._pretrained is None:
            # no prefix given: found from the keys (pre-training files
            # hold the encoder under 'backbone.', extracted ones at the top)
            self._pretrained = load_encoder_checkpoint(
                cfg['checkpoint'], cfg['prefix']) if 'prefix' in cfg else \
                load_encoder_checkpoint(cfg['checkpoint'])
        return self._pretrained

    def _resize_pos_embed_hook(self, state_dict, prefix, *args,
                               **kwargs) -> None:
        """State-dict pre-hook: a ``pos_embed`` of another grid is resized
        (bicubic on the patch slots, proxies kept) to this encoder's. The
        source grid is the one recorded by the checkpoint being loaded
        through ``init_cfg``, else taken as square."""
        key = prefix + 'pos_embed'
        pos = state_dict.get(key)
        if pos is None or pos.shape == self.pos_embed.shape or \
                pos.dim() != 3 or pos.shape[-1] != self.embed_dims:
            return
        Np = self.num_proxy_tokens
        slots = pos.shape[1] - Np
        info = self._pretrained
        grid = None
        if info is not None:
            grid = [s // info.meta.patch_size for s in info.meta.img_size]
        if grid is None or grid[0] * grid[1] != slots:
            side = round(slots**0.5)
            if side * side != slots:
                return  # not a grid of ours: load_state_dict names it
            grid = [side, side]
        state_dict[key] = resize_pos_embed(pos, grid, self.patch_resolution,
                                           self.interpolate_mode, Np)

    def _load_pretrained(self) -> None:
        """Strict loading with errors that name the config key to change."""
        info = self._read_pretrained()
        path, state = info.path, dict(info.state)
        problems = info.meta.mismatches(self.checkpoint_meta())
        if problems:
            raise ValueError(
                f'Checkpoint {path} does not fit the backbone: ' +
                '; '.join(problems) + ' (num_proxy_tokens / layer_type / '
                'layer_scale_init_value=None read it from the checkpoint).')
        try:
            missing, unexpected = self.load_state_dict(state, strict=False)
        except RuntimeError as e:
            raise ValueError(f'Checkpoint {path} does not fit the backbone: '
                             f'{e}') from None
        finally:
            self._pretrained = None  # loaded: free the weights
        # ln2 pools downstream features and is new; the [MASK] embedding
        # stays behind with the reconstruction side; with final_norm=False
        # the pooling norm replaces the pre-training final norm.
        missing = [k for k in missing if not k.startswith('ln2.')]
        unexpected = [
            k for k in unexpected if k != 'mask_token'
            and not (k.startswith('ln1.') and not self.final_norm)
        ]
        if missing or unexpected:
            raise ValueError(
                f'Checkpoint {path} does not fit the backbone: missing '
                f'{missing[:8]}, unexpected {unexpected[:8]}.')

    def init_weights(self) -> None:
        if _is_pretrained(self.init_cfg):
            self._load_pretrained()
            self._is_init = True
            return
        super().init_weights()
        trunc_normal_(self.pos_embed, std=.02)
        if self.num_proxy_tokens:
            trunc_normal_(self.proxy_tokens, std=.02)
        self.apply(init_linear_and_norm)
        if self.layer_type == 'beit':
            for i, layer in enumerate(self.layers):
                layer.rescale_init(i + 1)

    # ----------------------------------------------------------- helpers ---
    def _embed(self, x: torch.Tensor):
        """Patch tokens plus position, and the position-tagged proxies."""
        B = x.shape[0]
        x, hw = self.patch_embed(x)
        pos = self._pos_embed_for(hw)
        Np = self.num_proxy_tokens
        proxies = (self.proxy_tokens + pos[:, :Np]).expand(B, -1, -1)
        return x + pos[:, Np:], proxies, pos[:, Np:], hw

    def _pos_embed_for(self, hw) -> torch.Tensor:
        """The position embedding for a ``hw`` patch grid (mmpretrain's
        ``resize_pos_embed``: bicubic on the patch slots, proxies kept)."""
        if not is_exporting():
            return resize_pos_embed(
                self.pos_embed,
                self.patch_resolution,
                hw,
                mode=self.interpolate_mode,
                num_extra_tokens=self.num_proxy_tokens)
        # Exporting (ONNX, torch.export): resize unconditionally, as a size
        # comparison would pin the graph to one input size. At the same size
        # align_corners=False interpolation weights are exactly (0, 1, 0, 0):
        # the same numbers as not resizing.
        Np, D = self.num_proxy_tokens, self.embed_dims
        grid = self.pos_embed[:, Np:].reshape(1, *self.patch_resolution, D)
        grid = F.interpolate(
            grid.permute(0, 3, 1, 2).float(),
            size=tuple(hw),
            mode=self.interpolate_mode,
            align_corners=False)
        grid = grid.flatten(2).transpose(1, 2).to(self.pos_embed.dtype)
        return torch.cat((self.pos_embed[:, :Np], grid), dim=1)

    def _run_layer(self, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return run_layer(layer, x, checkpoint=self.with_cp and self.training)

    # ----------------------------------------------------------- forward ---
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Downstream features: proxies attend with the patches throughout,
        then are dropped from pooling and feature maps."""
        patches, proxies, _, hw = self._embed(x)
        x = self.drop_after_pos(torch.cat((proxies, patches), dim=1))
        outs = []
        for i, layer in enumerate(self.layers):
            x = self._run_layer(layer, x)
            if i == self.num_layers - 1:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, hw))
        return tuple(outs)

    @torch.no_grad()
    def attention_maps(self,
                       x: torch.Tensor,
                       per_head: bool = False) -> List[torch.Tensor]:
        """Softmax attention of every layer, for analysis.

        Args:
            x (Tensor): (B, C, H, W) normalised images.
            per_head (bool): Keep the heads apart instead of averaging them.

        Returns:
            list[Tensor]: One (B, Np + N, Np + N) map per layer, or
            (B, heads, Np + N, Np + N) with ``per_head`` (rows are queries,
            proxies first), from that layer's input.
        """
        patches, proxies, _, _ = self._embed(x)
        x = torch.cat((proxies, patches), dim=1)
        maps = []
        for layer in self.layers:
            attn = layer.attention_map(x)
            maps.append(attn if per_head else attn.mean(dim=1))
            x = layer(x)
        return maps

    def _format_output(self, x: torch.Tensor, hw) -> torch.Tensor:
        if self.out_type == 'raw':
            return x
        Np = self.num_proxy_tokens
        if self.out_type == 'cls_token':
            return self.ln2(x[:, :Np].mean(dim=1))
        patches = x[:, Np:]
        if self.out_type == 'avg_featmap':
            return self.ln2(patches.mean(dim=1))
        B, _, D = patches.shape
        return patches.reshape(B, *hw, D).permute(0, 3, 1, 2).contiguous()

    # ------------------------------------------------- freezing / lr decay ---
    def _freeze_stages(self) -> None:
        frozen = [self.patch_embed, *self.layers[:self.frozen_stages]]
        self.pos_embed.requires_grad = False
        self.proxy_tokens.requires_grad = False
        if self.frozen_stages >= self.num_layers:
            frozen.append(self.ln1)
            if hasattr(self, 'ln2'):
                frozen.append(self.ln2)
        self.drop_after_pos.eval()
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.frozen_stages > 0:
            self._freeze_stages()
        return self

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer id of a parameter for layer-wise lr decay.

        Returns:
            tuple[int, int]: ``(layer_depth, num_layers + 2)``: the stem
            (patch embedding, positions, proxies) is 0, layer i is i + 1, the
            rest (final norms, and anything outside the backbone) is last.
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name in ('proxy_tokens', 'pos_embed', 'mask_token') or \
                name.startswith('patch_embed'):
            return 0, num_layers
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers


class MaskedEncoding(NamedTuple):
    """What the pre-training encoder hands to the reconstruction side.

    Attributes:
        proxy_states (tuple[Tensor] | None): The [PROXY] tokens after each
            encoder layer, L tensors of (B, Np, D); None in baseline mode.
        mask_queries (Tensor | None): (B, K, D) [MASK] queries (mask
            embedding + position of each predicted patch) for the
            reconstruction stack; None in baseline mode.
        mask_outputs (Tensor | None): Baseline mode: (B, K, D) the [MASK]
            tokens after the joint encoder (not normalised); None with the
            bottleneck.
        pred_index (Tensor): (B, K) positions of the predicted patches.
    """
    proxy_states: Optional[Tuple[torch.Tensor, ...]]
    mask_queries: Optional[torch.Tensor]
    mask_outputs: Optional[torch.Tensor]
    pred_index: torch.Tensor


@MODELS.register_module()
class SemanticMIMPretrainViT(SemanticMIMViT):
    """:class:`SemanticMIMViT` plus the [MASK] embedding and masked forward.

    Args:
        out_type (str): Defaults to 'raw' (no pooling norm is built, so every
            parameter takes part in pre-training).
        **kwargs: See :class:`SemanticMIMViT`.
    """

    def __init__(self, *args, out_type: str = 'raw', **kwargs) -> None:
        super().__init__(*args, out_type=out_type, **kwargs)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))

    def init_weights(self) -> None:
        super().init_weights()
        if not _is_pretrained(self.init_cfg):
            trunc_normal_(self.mask_token, std=.02)

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                pred_mask: Optional[torch.Tensor] = None,
                bottleneck: bool = True):
        """Encode a masked image, or extract features when ``mask`` is None.

        Args:
            x (Tensor): (B, C, H, W) images of the pre-training size.
            mask (Tensor, optional): (B, h, w) or (B, N); nonzero patches are
                hidden from the encoder.
            pred_mask (Tensor, optional): Patches to reconstruct; defaults to
                ``mask`` (an independent set when the mask generator draws
                one).
            bottleneck (bool): True: encode [PROXY; visible] and return the
                per-layer proxy states and the [MASK] queries. False
                (baseline): one self-attention over [PROXY; visible; MASK].

        Returns:
            MaskedEncoding | tuple[Tensor]: See :class:`MaskedEncoding`.
        """
        if mask is None:
            return super().forward(x)
        H, W = x.shape[-2:]
        if (H, W) != self.img_size:
            raise ValueError(
                f'Masked pre-training needs inputs of img_size '
                f'{self.img_size} (the mask grid), got {(H, W)}. Resize '
                'them in the pipeline or set the backbone img_size.')
        if bottleneck and self.num_proxy_tokens == 0:
            raise ValueError('The SemanticMIM bottleneck routes everything '
                             'through the proxies: num_proxy_tokens must be '
                             '> 0 (or set bottleneck=False for the baseline).')
        visible_index, hidden_index = mask_to_indices(mask, 'mask')
        pred_index = hidden_index if pred_mask is None else \
            mask_to_indices(pred_mask, 'pred_mask')[1]

        patches, proxies, patch_pos, _ = self._embed(x)
        tokens = self.drop_after_pos(
            torch.cat((proxies, gather_tokens(patches, visible_index)), 1))
        B = x.shape[0]
        queries = self.mask_token + gather_tokens(
            patch_pos.expand(B, -1, -1), pred_index)

        Np, K = self.num_proxy_tokens, queries.shape[1]
        if not bottleneck:
            tokens = torch.cat((tokens, queries), dim=1)
            for layer in self.layers:
                tokens = self._run_layer(layer, tokens)
            return MaskedEncoding(None, None, tokens[:, -K:], pred_index)

        states = []
        for layer in self.layers:
            tokens = self._run_layer(layer, tokens)
            states.append(tokens[:, :Np])
        return MaskedEncoding(tuple(states), queries, None, pred_index)
