"""Layer-wise k-NN and linear-probe scores of frozen features, as tables and
a figure (``tools/analysis/representation_report.py``).
"""
from typing import Dict, List, Optional, Sequence

from .frozen_features import class_folders, load_frozen_encoder, tsne_plot
from .layer_probes import (FEATURE_KINDS, best_record, extract_layer_features,
                           probe_layers)
from .report_files import integer_layers, write_report_files


def layer_report(checkpoint: str,
                 data_root: str,
                 img_size: Optional[int],
                 mean: Sequence[float],
                 std: Sequence[float],
                 train_split: str = 'train',
                 test_split: str = 'val',
                 max_per_class: Optional[int] = None,
                 device: str = 'cpu',
                 random_init: bool = False,
                 seed: int = 0,
                 tsne: Optional[str] = None,
                 title: str = '') -> List[dict]:
    """The probe records of every layer of one checkpoint; ``tsne`` draws
    the test split's last-layer patch-mean features there."""
    encoder = load_frozen_encoder(
        checkpoint, random_init, seed, all_layers=True)
    size = img_size or encoder.img_size[0]
    classes = class_folders(data_root, train_split)  # labels of both splits
    split_feats = [
        extract_layer_features(
            encoder,
            data_root,
            split,
            size,
            mean,
            std,
            max_per_class=max_per_class,
            device=device,
            classes=classes) for split in (train_split, test_split)
    ]
    if tsne:
        test_feats, test_labels = split_feats[1]
        tsne_plot(test_feats['patch'][-1], test_labels, tsne, title=title)
    return probe_layers(*split_feats, layers=encoder.out_indices)


def summary(records: List[dict]) -> Dict[str, dict]:
    """Best layer by linear probe and by k-NN, over all features and per
    feature kind."""
    kinds = sorted({r['feature'] for r in records}, key=FEATURE_KINDS.index)
    out = {}
    for metric in ('linear', 'knn'):
        out[f'best_{metric}'] = best_record(records, metric)
        for kind in kinds:
            out[f'best_{metric}_{kind}'] = best_record(records, metric, kind)
    return out


def _cell(rows: List[dict], kind: str) -> str:
    row = [r for r in rows if r['feature'] == kind]
    if not row:
        return '– | –'
    return f"{row[0]['knn']:.1f} | {row[0]['linear']:.1f}"


def markdown(results: Dict[str, List[dict]], caption: str = '') -> str:
    """One table (rows: checkpoint x layer; k-NN | linear per feature) and
    each checkpoint's best layer and feature."""
    heads = ' | '.join(f'{k} k-NN | {k} linear' for k in FEATURE_KINDS)
    lines = [caption, ''] if caption else []
    lines += [
        f'| checkpoint | layer | {heads} |',
        '|---|---' + '|---' * 2 * len(FEATURE_KINDS) + '|'
    ]
    for name, records in results.items():
        for layer in sorted({r['layer'] for r in records}):
            rows = [r for r in records if r['layer'] == layer]
            cells = ' | '.join(_cell(rows, k) for k in FEATURE_KINDS)
            lines.append(f'| {name} | {layer} | {cells} |')
    lines.append('')
    for name, records in results.items():
        best = summary(records)
        lin, knn = best['best_linear'], best['best_knn']
        lines.append(
            f"- {name}: best linear {lin['linear']:.1f} ({lin['feature']}, "
            f"layer {lin['layer']}); best k-NN {knn['knn']:.1f} "
            f"({knn['feature']}, layer {knn['layer']})")
    lines.append('\nLayers count from 0; the best layer and feature are '
                 'chosen on the test split they are scored on (an upper '
                 'bound, not a held-out figure).')
    return '\n'.join(lines)


def draw(results: Dict[str, List[dict]], axes) -> None:
    """Accuracy vs layer, k-NN and linear probe: colour per checkpoint,
    line style per feature."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    styles = dict(zip(FEATURE_KINDS, ('-', '--', ':')))
    colors = plt.cm.tab10.colors
    for metric, ax in zip(('knn', 'linear'), axes):
        for c, (name, records) in enumerate(results.items()):
            for kind in FEATURE_KINDS:
                rows = sorted((r for r in records if r['feature'] == kind),
                              key=lambda r: r['layer'])
                if rows:
                    ax.plot([r['layer'] for r in rows],
                            [r[metric] for r in rows],
                            styles[kind],
                            marker='o',
                            ms=3,
                            color=colors[c % 10])
        ax.set_xlabel('layer')
        ax.set_ylabel(f"{'k-NN' if metric == 'knn' else 'linear probe'} "
                      'top-1 (%)')
        integer_layers(ax)
    # one legend entry per checkpoint (colour) and per feature (line style)
    handles = [
        Line2D([], [], color=colors[c % 10], label=name)
        for c, name in enumerate(results)
    ]
    handles += [
        Line2D([], [], color='grey', ls=styles[k], label=k)
        for k in FEATURE_KINDS
    ]
    axes[1].legend(
        handles=handles,
        fontsize=7,
        loc='upper left',
        bbox_to_anchor=(1.02, 1))


def write_report(results: Dict[str, List[dict]],
                 out_dir: str,
                 caption: str = '') -> str:
    """``representation.{md,json,png}`` in ``out_dir``; returns the table."""
    record = {
        name: dict(records=records, **summary(records))
        for name, records in results.items()
    }
    return write_report_files(out_dir, 'representation',
                              markdown(results, caption), record,
                              lambda axes: draw(results, axes), caption)


def representation_report(checkpoints: Sequence[str],
                          names: List[str],
                          out_dir: str,
                          random_init: bool = False,
                          **probe) -> str:
    """:func:`layer_report` of every checkpoint (and, with
    ``random_init``, of the first one's architecture with random weights as
    a floor), written as :func:`write_report` with the data and splits as
    the caption; returns the table.

    Args:
        checkpoints (Sequence[str]): Pre-training or encoder checkpoints.
        names (List[str]): One table name per checkpoint.
        out_dir (str): Where ``representation.{md,json,png}`` go.
        random_init (bool): Add the random-weights floor.
        **probe: :func:`layer_report`'s arguments (``data_root``,
            ``img_size``, ``mean``, ``std``, ``train_split``,
            ``test_split``, ``max_per_class``, ``device``).
    """
    results = {
        name: layer_report(ckpt, **probe)
        for name, ckpt in zip(names, checkpoints)
    }
    if random_init:
        results['random init'] = layer_report(
            checkpoints[0], random_init=True, **probe)
    train = probe.get('train_split', 'train')
    test = probe.get('test_split', 'val')
    return write_report(results, out_dir,
                        f"{probe['data_root']}: {train} -> {test}")
