"""Paths inside the source checkout the package is installed from.

The configs and shell launchers are not package data (OpenMMLab's layout:
``configs/`` and ``tools/`` beside the package, installed editable), so what
runs a shipped config finds it here.
"""
import os.path as osp

#: The checkout's root: the folder holding ``mmsemanticmim/``.
CHECKOUT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def checkout_path(*parts: str) -> str:
    """``CHECKOUT/parts...``. Nothing is checked here: a missing file fails
    where it is opened, naming the full path."""
    return osp.join(CHECKOUT, *parts)
