"""Write the model index: ``model-index.yml`` and a ``metafile.yml`` per
indexed config folder, Parameters and FLOPs computed from the built models
(FLOPs with a CPU forward each: a few minutes for all), or check that the
written files still match the configs (``--check``).

Usage: python tools/misc/update_model_index.py [--check] [--no-flops]
"""
import argparse
import os.path as osp
import sys

import yaml

import mmsemanticmim  # noqa: F401  (registers the components)
from mmsemanticmim.apis.model_index import INDEXED_FOLDERS, build_metafile

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--root',
        default=ROOT,
        help='the source tree (default: this checkout)')
    parser.add_argument(
        '--check',
        action='store_true',
        help='write nothing; exit 1 naming every file that '
        'differs from what the configs give')
    parser.add_argument(
        '--no-flops',
        action='store_true',
        help='with --check: compare everything but FLOPs')
    args = parser.parse_args()
    if args.no_flops and not args.check:
        parser.error('--no-flops only with --check (written files keep '
                     'their FLOPs)')
    files = {}
    for folder in INDEXED_FOLDERS:
        meta = build_metafile(folder, args.root, flops=not args.no_flops)
        files[f'configs/{folder}/metafile.yml'] = meta
    files['model-index.yml'] = dict(
        Import=[p for p in files if p != 'model-index.yml'])
    stale = []
    for path, data in files.items():
        full = osp.join(args.root, path)
        if args.check:
            with open(full) as f:
                written = yaml.safe_load(f)
            if args.no_flops:
                for m in written.get('Models', []) + data.get('Models', []):
                    m['Metadata'].pop('FLOPs', None)
            if written != data:
                stale.append(path)
            continue
        with open(full, 'w') as f:
            f.write(_dump(data))
        print(f'wrote {path}')
    if stale:
        sys.exit('out of date (run tools/misc/update_model_index.py): ' +
                 ', '.join(stale))
    if args.check:
        print('model index matches the configs')


if __name__ == '__main__':
    main()
