"""One timm-style registry of architectures: ``@register_architecture(name)`` on builders."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from .base import Backbone
from .heads import HeadsSpec

__all__ = ["add_name_check", "create_backbone", "list_architectures", "register_architecture"]

_BUILDERS: dict[str, Callable[..., Backbone]] = {}
_NAME_CHECKS: list[Callable[[str], None]] = []

Builder = TypeVar("Builder", bound=Callable[..., Backbone])


def register_architecture(name: str) -> Callable[[Builder], Builder]:
    """Decorator registering ``builder(heads=None, **kwargs) -> Backbone`` under ``name``.

    The builder's keyword arguments (with defaults) are the architecture's options; their
    values must be plain JSON values (numbers, strings, booleans, None, lists).
    """

    def decorator(builder: Builder) -> Builder:
        if name in _BUILDERS:
            raise ValueError(f"architecture {name!r} is already registered")
        for check in _NAME_CHECKS:
            check(name)
        if "heads" not in inspect.signature(builder).parameters:
            raise ValueError(f"the builder of {name!r} must take a 'heads' argument")
        _BUILDERS[name] = builder
        return builder

    return decorator


def add_name_check(check: Callable[[str], None]) -> None:
    """Call ``check(name)`` before each later architecture is registered; it raises
    ``ValueError`` to refuse the name. The model registry (a layer above) refuses its models'
    names this way, so that ``create_model(name)`` never has two meanings."""
    _NAME_CHECKS.append(check)


def list_architectures() -> list[str]:
    """Names of every registered architecture, sorted."""
    return sorted(_BUILDERS)


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_json_value(item) for item in value]
    return value


def create_backbone(name: str, heads: HeadsSpec = None, **kwargs: Any) -> Backbone:
    """Build a registered architecture.

    ``heads``: ``None`` (forward returns pooled features), an ``int`` (one head, forward returns
    logits) or ``{task: n_classes}`` (forward returns ``{task: logits}``). ``kwargs``: the
    architecture's options (see its builder), e.g. ``width=32`` for the ResNets.

    The returned model has ``arch_name == name`` and ``arch_kwargs`` holding every option
    (defaults included, tuples as lists), so that
    ``create_backbone(m.arch_name, heads=m.heads_config, **m.arch_kwargs)`` rebuilds it.
    """
    if name not in _BUILDERS:
        known = list_architectures()
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown architecture {name!r}; known architectures: {', '.join(known)}.{hint}"
        )
    builder = _BUILDERS[name]
    signature = inspect.signature(builder)
    try:
        bound = signature.bind(heads=heads, **kwargs)
    except TypeError as error:
        options = [option for option in signature.parameters if option != "heads"]
        raise ValueError(
            f"invalid options for architecture {name!r}: {error}; "
            f"its options are: {', '.join(options)}"
        ) from None
    bound.apply_defaults()
    model = builder(**bound.arguments)
    model.arch_name = name
    model.arch_kwargs = {
        option: _json_value(value) for option, value in bound.arguments.items() if option != "heads"
    }
    return model
