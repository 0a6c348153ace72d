#!/usr/bin/env bash
# The package as a user gets it: sdist and wheel built with `python -m build`
# (the wheel from the sdist), installed into a fresh venv that already holds
# the stack's torch (and later the cached mmcv wheel), then used from a
# folder outside the checkout: an epoch of the tiny config through
# `mmsemanticmim::` with `mim train`, fine-tuning and `mim test`, `mim
# search`, mmpretrain's get_model / list_models, feature extraction, and a
# stock mmdet Mask R-CNN with our backbone swapped in.
#
# Usage: bash .ci/package_check.sh [STACK]   (after `make install`, which
#        builds the mmcv wheel this reuses)
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
STACK=${1:-default}
PINS=(-c "$HERE/requirements/pinned.txt" -c "$HERE/requirements/stacks/$STACK.txt")
WORK=$(mktemp -d /tmp/mmsemanticmim-package.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
step() { echo "[package] $1 ($(( $(date +%s) - START )) s)"; }
fail() { echo "[package] FAILED: $1" >&2; exit 1; }

"${PYTHON:-python3.11}" -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
PIP="$PY -m pip --disable-pip-version-check -q"
$PIP install "${PINS[@]}" torch build setuptools wheel
TORCH=$($PY -c 'import torch; print(torch.__version__)')
step "fresh venv with torch $TORCH"

# 1. sdist, then the wheel from it (what `python -m build` does)
$PY -m build --no-isolation --outdir "$WORK/dist" "$HERE" > "$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log"; fail "python -m build"; }
WHEEL=$(ls "$WORK"/dist/mmsemanticmim-*.whl)
SDIST=$(ls "$WORK"/dist/mmsemanticmim-*.tar.gz)
$PY -m zipfile -l "$WHEEL" > "$WORK/wheel.txt"
for f in mmsemanticmim/.mim/configs/semanticmim/semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py \
         mmsemanticmim/.mim/tools/train.py mmsemanticmim/.mim/model-index.yml \
         mmsemanticmim/.mim/configs/semanticmim/metafile.yml; do
    grep -q "$f" "$WORK/wheel.txt" || fail "the wheel lacks $f"
done
step "built $(basename "$SDIST") and $(basename "$WHEEL")"

# 2. installing never touches torch: the wheel requires neither torch nor
#    torchvision, and nothing of them is in the plan (torchvision is not
#    installed yet)
$PY - "$WHEEL" <<'PYCHECK' || fail "the wheel requires torch or torchvision"
import re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
meta = z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode()
bad = re.findall(r'^Requires-Dist: (torch|torchvision)\b.*$', meta, re.M)
assert not bad, bad
PYCHECK
$PIP install --dry-run --report "$WORK/plan.json" "$WHEEL"
$PY - "$WORK/plan.json" <<'PYCHECK'
import json, sys
plan = [i['metadata']['name'].lower() for i in json.load(open(sys.argv[1]))['install']]
bad = [n for n in plan if n.startswith(('torch', 'nvidia'))]
assert not bad, f'installing the wheel would install {bad}'
PYCHECK
$PIP install "${PINS[@]}" torchvision "$WHEEL"
cd "$WORK"
MSG=$($PY -c 'import mmsemanticmim' 2>&1 || true)
grep -q "mmsemanticmim needs mmengine" <<< "$MSG" || { tail -5 <<< "$MSG"; fail "import without the OpenMMLab packages"; }
step "installed without the OpenMMLab packages: import names them"

# 3. the OpenMMLab packages: the cached mmcv wheel, then the mim extra
# the cache key of requirements/install.sh
KEY=$($PY -c 'import os, sys, torch
dev = "cuda" if os.environ.get("FORCE_CUDA") == "1" or torch.cuda.is_available() else "cpu"
print(f"cp{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}-{dev}ops")')
MMCV=$(ls "${MMSEMANTICMIM_WHEEL_CACHE:-$HOME/.cache/mmsemanticmim/wheels}/$KEY"/mmcv-2.1.0-*.whl | head -n1)
$PIP install --no-deps "$MMCV"
$PIP install "${PINS[@]}" "$WHEEL[mim]" openmim==0.3.8
[ "$($PY -c 'import torch; print(torch.__version__)')" = "$TORCH" ] || fail "torch changed"
SITE=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
$PY -c 'import mmsemanticmim, mmsemanticmim.utils.package_files as p, sys; sys.exit(not p.PACKAGE_DIR.startswith(sys.argv[1]))' "$SITE" \
    || fail "mmsemanticmim is imported from outside the venv"
step "installed with the mim extra (torch still $TORCH)"

# 4. a user's folder: data, configs of their own, our tools through mim
mkdir -p "$WORK/user" && cd "$WORK/user"
$PY - <<'PYDATA'
import os
import numpy as np
from PIL import Image
rng = np.random.default_rng(0)
for split, n in (('train', 16), ('val', 8)):
    for c in ('a', 'b'):
        os.makedirs(f'data/{split}/{c}', exist_ok=True)
        for i in range(n // 2):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
                            ).save(f'data/{split}/{c}/{i}.png')
PYDATA
cat > pretrain.py <<'PYCFG'
_base_ = 'mmsemanticmim::semanticmim/semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo.py'
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root='data'))
train_cfg = dict(max_epochs=1)
PYCFG
$WORK/venv/bin/mim train mmsemanticmim pretrain.py --work-dir wd_pretrain > train.log 2>&1 \
    || { tail -30 train.log; fail "mim train mmsemanticmim (pre-training through mmsemanticmim::)"; }
[ -f wd_pretrain/epoch_1.pth ] || fail "no checkpoint from mim train"
step "mim train: an epoch of the tiny config through mmsemanticmim::"

cat > finetune.py <<'PYCFG'
_base_ = 'mmsemanticmim::benchmarks/classification/vit-tiny-p4_semanticmim-maskfeat-pre_1xb8-coslr-2e_toy.py'
train_dataloader = dict(dataset=dict(data_root='data'))
val_dataloader = dict(dataset=dict(data_root='data'))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1)
model = dict(backbone=dict(init_cfg=dict(checkpoint='wd_pretrain/epoch_1.pth')))
PYCFG
$WORK/venv/bin/mim train mmsemanticmim finetune.py --work-dir wd_cls > cls.log 2>&1 \
    || { tail -30 cls.log; fail "mim train (fine-tuning)"; }
$WORK/venv/bin/mim test mmsemanticmim finetune.py -C wd_cls/epoch_1.pth > test.log 2>&1 \
    || { tail -30 test.log; fail "mim test"; }
grep -q "accuracy/top1" test.log || { tail -10 test.log; fail "mim test printed no accuracy"; }
step "mim train / mim test: fine-tuning from that checkpoint"

$WORK/venv/bin/mim search mmsemanticmim > search.log 2>&1 || { tail -20 search.log; fail "mim search"; }
grep -q "semanticmim-maskfeat_vit-base-p16_8xb256-amp-coslr-300e_in1k" search.log \
    || { head -40 search.log; fail "mim search lists no model of ours"; }
step "mim search mmsemanticmim"

cat > maskrcnn.py <<'PYCFG'
# A stock mmdet config with our encoder swapped in, as a user writes it.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmsemanticmim'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True, type='mmsemanticmim.SemanticMIMViT',
        arch=dict(embed_dims=96, num_layers=4, num_heads=3,
                  feedforward_channels=384),
        img_size=224, patch_size=16, num_proxy_tokens=4, out_type='featmap',
        out_indices=(3, )),
    # stride 16 -> strides 4..32 (+64 pooled), as the stock heads expect
    neck=dict(_delete_=True, type='mmsemanticmim.SimpleFPN',
              backbone_channel=96, in_channels=[24, 48, 96, 96],
              out_channels=256, num_outs=5))
PYCFG
$PY - <<'PYDET' || fail "Mask R-CNN from mmdet:: with our backbone"
import mmsemanticmim  # noqa: F401
import numpy as np
from mmdet.apis import inference_detector, init_detector
model = init_detector('maskrcnn.py', device='cpu')
assert type(model.backbone).__name__ == 'SemanticMIMViT'
result = inference_detector(model, np.zeros((64, 64, 3), np.uint8))
print('mask r-cnn forward:', len(result.pred_instances), 'instances')
PYDET
step "mmdet Mask R-CNN inheriting mmdet:: with our backbone: a forward"

$PY - <<'PYAPI' || fail "mmpretrain get_model / list_models / features"
import mmsemanticmim
import mmpretrain
from mmengine.analysis import get_model_complexity_info
name = 'semanticmim-maskfeat_vit-tiny-p4_1xb64-coslr-10e_mnist-demo'
assert name in mmpretrain.list_models('*semanticmim*'), mmpretrain.list_models('*semanticmim*')
model = mmpretrain.get_model(name)
assert type(model).__name__ == 'SemanticMIM'
model.forward = model.extract_feat
print('FLOPs', get_model_complexity_info(model, (3, 32, 32), show_table=False, show_arch=False)['flops'])
from mmsemanticmim.apis import extract_features
feats = extract_features(name, 'data/val/a/0.png', checkpoint='wd_pretrain/epoch_1.pth')
assert tuple(feats[0]['proxy'].shape) == (4, 96) and tuple(feats[0]['patch'].shape) == (96, 8, 8)
print('features', {k: tuple(v.shape) for k, v in feats[0].items()})
PYAPI
step "mmpretrain.get_model / list_models / get_model_complexity_info, extract_features"
echo "[package] ok: built, installed over torch $TORCH unchanged, and used from outside the checkout"
