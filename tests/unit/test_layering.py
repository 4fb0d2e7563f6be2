"""The three layers stay apart: the core imports no Airflow, nothing imports heavy libs eagerly."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import airflow_mlops

HEAVY = (
    "torch",
    "mlflow",
    "great_expectations",
    "evidently",
    "dvc",
    "onnx",
    "onnxruntime",
    "sklearn",
)
ADAPTERS = ("operators", "sensors", "plugins", "hooks")


def _walk(path: list[str], prefix: str) -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(path, prefix)
        if not info.name.endswith("__main__")
    ]


def _core_modules() -> list[str]:
    """Modules under airflow_mlops/ itself (the adapter folders are mapped in from elsewhere)."""
    return ["airflow_mlops", *_walk(airflow_mlops.__path__, "airflow_mlops.")]


def _adapter_modules() -> list[str]:
    names = []
    for folder in ADAPTERS:
        package = importlib.import_module(f"airflow_mlops.{folder}")
        names += [package.__name__, *_walk(package.__path__, f"{package.__name__}.")]
    return names


def _loaded_after_import(modules: list[str], watched: tuple[str, ...]) -> list[str]:
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {list(watched)!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_core_modules_import_neither_airflow_nor_heavy_libraries() -> None:
    core = _core_modules()
    assert "airflow_mlops.errors" in core
    assert "airflow_mlops.local.demo.registry" in core
    assert not any(name.split(".")[1] in ADAPTERS for name in core if "." in name)
    assert _loaded_after_import(core, ("airflow", *HEAVY)) == []


def test_adapter_modules_import_no_heavy_library() -> None:
    adapters = _adapter_modules()
    assert "airflow_mlops.plugins.plugin" in adapters
    assert _loaded_after_import(adapters, HEAVY) == []


def test_adapter_source_folders_are_mapped_into_the_package() -> None:
    root = Path(__file__).resolve().parents[2]
    for folder in ADAPTERS:
        package = importlib.import_module(f"airflow_mlops.{folder}")
        assert Path(package.__file__).resolve().parent == root / folder
