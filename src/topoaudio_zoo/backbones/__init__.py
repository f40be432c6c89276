"""Backbones of the zoo: one registry, one base class, every architecture.

>>> from topoaudio_zoo.backbones import create_backbone, list_architectures
>>> list_architectures()
['ast_coch', 'cochcnn9', 'cochresnet18', 'cochresnet50']
>>> model = create_backbone("cochresnet18", heads={"word": 794}, width=16)
"""

from .ast import ASTCoch
from .base import Backbone
from .cochcnn9 import CochCNN9
from .heads import SINGLE_HEAD_NAME, HeadsSpec
from .registry import create_backbone, list_architectures, register_architecture
from .resnet import CochResNet

__all__ = [
    "SINGLE_HEAD_NAME",
    "ASTCoch",
    "Backbone",
    "CochCNN9",
    "CochResNet",
    "HeadsSpec",
    "create_backbone",
    "list_architectures",
    "register_architecture",
]
