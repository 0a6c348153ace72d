"""What the analysis reports share: their image arguments, their two-panel
figure, and writing ``STEM.{md,json,png}``."""
import argparse
import json
import os
import os.path as osp
from typing import Callable, Sequence

from mmsemanticmim.utils.image_norm import IMAGENET_MEAN, IMAGENET_STD

#: The default ``--mean`` / ``--std`` of the analysis tools.
IMAGENET_NORM = dict(mean=list(IMAGENET_MEAN), std=list(IMAGENET_STD))


def add_image_args(parser: argparse.ArgumentParser,
                   norm: dict = IMAGENET_NORM) -> None:
    """``--img-size``, ``--mean`` and ``--std`` (RGB, 0-255)."""
    parser.add_argument(
        '--img-size', type=int, help="input side (default: the checkpoint's)")
    parser.add_argument('--mean', type=float, nargs=3, default=norm['mean'])
    parser.add_argument('--std', type=float, nargs=3, default=norm['std'])


def checkpoint_names(parser: argparse.ArgumentParser,
                     args: argparse.Namespace) -> list:
    """``--names``, one per checkpoint, else the file names."""
    if args.names and len(args.names) != len(args.checkpoints):
        parser.error(f'--names gives {len(args.names)} names for '
                     f'{len(args.checkpoints)} checkpoints')
    return args.names or [osp.basename(p) for p in args.checkpoints]


def two_panels():
    """A headless (Agg) figure with two side-by-side axes."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)


def integer_layers(ax) -> None:
    """Whole-number layer ticks and a light grid."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def write_report_files(out_dir: str,
                       stem: str,
                       table: str,
                       record: object,
                       draw: Callable[[Sequence], None],
                       title: str = '') -> str:
    """``table`` as STEM.md, ``record`` as STEM.json, and STEM.png drawn by
    ``draw(axes)`` on :func:`two_panels`; returns the table."""
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, f'{stem}.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(out_dir, f'{stem}.json'), 'w') as f:
        json.dump(record, f, indent=1)
    fig, axes = two_panels()
    draw(axes)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    # the legends sit right of the axes: keep them in the picture
    fig.savefig(osp.join(out_dir, f'{stem}.png'), bbox_inches='tight')
    plt.close(fig)
    return table
