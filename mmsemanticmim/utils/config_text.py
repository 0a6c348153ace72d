"""Settings read from a config's text (``meta['cfg']`` of an mmengine
checkpoint) without running it.

mmengine stores the config a checkpoint was trained with as Python source;
loading it with ``Config.fromstring`` would execute that source, which a
checkpoint must never make us do. Literal settings are read from its syntax
tree instead (``ast.literal_eval``: constants, lists, dicts only).
"""
import ast
from typing import Optional


def literal_setting(text: Optional[str],
                    key: str,
                    inside: Optional[str] = None):
    """The literal value of the first ``key = ...`` assignment, ``key=...``
    keyword or ``'key':`` dict entry in ``text``, looked for within the
    first ``inside=...`` value when given; None when absent, not literal,
    or ``text`` does not parse."""
    if not text:
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    if inside is not None:
        tree = _find(tree, inside, literal=False)
        if tree is None:
            return None
    return _find(tree, key, literal=True)


def _find(tree: ast.AST, name: str, literal: bool):
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == name:
            value = node.value
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name
                for t in node.targets):  # a top-level ``name = ...``
            value = node.value
        elif isinstance(node, ast.Dict):
            value = next((v for k, v in zip(node.keys, node.values)
                          if isinstance(k, ast.Constant) and k.value == name),
                         None)
            if value is None:
                continue
        else:
            continue
        if not literal:
            return value
        try:
            return ast.literal_eval(value)
        except ValueError:
            continue
    return None


def training_normalisation(text: Optional[str]):
    """``(mean, std)`` of the config's ``data_preprocessor`` (0-255 pixel
    scale), or None when the text does not give both."""
    mean = literal_setting(text, 'mean', inside='data_preprocessor')
    std = literal_setting(text, 'std', inside='data_preprocessor')
    if mean is None or std is None:
        return None
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)
