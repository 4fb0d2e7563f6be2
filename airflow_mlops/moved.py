"""Old import paths of modules that moved, kept importable with a DeprecationWarning.

One table, :data:`MOVED`, maps each old dotted name to its new home; a meta-path finder
installed by ``airflow_mlops/__init__.py`` resolves the old name (and its submodules) to the
new module object, so ``import airflow_mlops.registry.gate`` still works and is the same module
as ``airflow_mlops.model_registry.gate``. Remove an entry one minor release after it was added.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from types import ModuleType

#: old dotted name -> new dotted name (0.2.0)
MOVED: dict[str, str] = {
    "airflow_mlops.registry": "airflow_mlops.model_registry",
    "airflow_mlops.drift": "airflow_mlops.monitoring",
    "airflow_mlops.operators.dvc": "airflow_mlops.operators.data",
    "airflow_mlops.operators.mlflow": "airflow_mlops.operators.model_registry",
    "airflow_mlops.operators.onnx": "airflow_mlops.operators.export",
    "airflow_mlops.sensors.dvc": "airflow_mlops.sensors.data",
    "airflow_mlops.cli": "airflow_mlops.local.cli",
    "airflow_mlops.stack": "airflow_mlops.local.stack",
    "airflow_mlops.services": "airflow_mlops.local.services",
    "airflow_mlops.ct.demo": "airflow_mlops.local.demo.pipeline",
    "airflow_mlops.data.demo": "airflow_mlops.local.demo.dataset",
    "airflow_mlops.data.registry": "airflow_mlops.local.demo.registry",
    "airflow_mlops.data.synthetic": "airflow_mlops.local.demo.synthetic",
    "airflow_mlops.export.demo_model": "airflow_mlops.local.demo.model",
}


def new_name(fullname: str) -> str | None:
    """The new dotted name of ``fullname`` if it (or a package above it) moved, else None."""
    for old, new in MOVED.items():
        if fullname == old or fullname.startswith(old + "."):
            return new + fullname[len(old) :]
    return None


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: object = None, target: object = None):
        if new_name(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec) -> ModuleType:
        target = new_name(spec.name)
        warnings.warn(
            f"{spec.name} moved to {target}; import it from there",
            DeprecationWarning,
            stacklevel=3,
        )
        return importlib.import_module(target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module is already executed."""


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
