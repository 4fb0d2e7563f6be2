"""Lazy package exports: a package names its public classes, each module loads on first use.

A package ``__init__`` that imported every module it re-exports would make importing one light
module of it (an operator's extra link, a DAG file's factory) pay for all of them at DAG parse
time. Instead::

    _HOMES = {"DvcPullOperator": "data", ...}   # public name -> submodule
    __all__ = sorted(_HOMES)
    __getattr__, __dir__ = lazy_exports(__name__, _HOMES)

(PEP 562), with the same names imported under ``TYPE_CHECKING`` for type checkers and IDEs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose public ``name`` lives in the
    submodule ``homes[name]`` (a dotted ``homes[name]`` is a module of its own)."""
    import sys

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        home = homes[name] if "." in homes[name] else f"{package}.{homes[name]}"
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *homes})

    return __getattr__, __dir__
