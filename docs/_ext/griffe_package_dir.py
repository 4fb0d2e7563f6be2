"""Griffe extension: document the sub-packages that pyproject.toml maps to other folders.

``[tool.setuptools.package-dir]`` maps ``airflow_mlops.operators`` to ``operators/`` (and hooks,
sensors, plugins likewise). Griffe finds a package by its folder, so without this extension those
sub-packages are missing under ``airflow_mlops``. The mapping is read from pyproject.toml, so a
new mapped folder is documented without editing this file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import griffe

ROOT = Path(__file__).resolve().parents[2]


def package_dirs(root: Path = ROOT) -> dict[str, Path]:
    """``{"airflow_mlops.operators": Path(".../operators"), ...}`` from pyproject.toml."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = config["tool"]["setuptools"].get("package-dir", {})
    return {name: root / folder for name, folder in mapping.items() if name}


class PackageDirExtension(griffe.Extension):
    """Visits each mapped folder and attaches it as a sub-module of its parent package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        for dotted, folder in package_dirs().items():
            parent_path, _, name = dotted.rpartition(".")
            if parent_path != pkg.path or name in pkg.members:
                continue
            package = _visit(name, folder / "__init__.py", pkg, loader)
            for source in sorted(folder.glob("*.py")):
                if source.name != "__init__.py":
                    _visit(source.stem, source, package, loader)


def _visit(
    name: str, path: Path, parent: griffe.Module, loader: griffe.GriffeLoader
) -> griffe.Module:
    code = path.read_text(encoding="utf-8")
    loader.lines_collection[path] = code.splitlines()
    module = griffe.visit(
        name,
        path,
        code,
        parent=parent,
        extensions=loader.extensions,
        docstring_parser=loader.docstring_parser,
        docstring_options=loader.docstring_options,
        lines_collection=loader.lines_collection,
        modules_collection=loader.modules_collection,
    )
    parent.set_member(name, module)
    return module
