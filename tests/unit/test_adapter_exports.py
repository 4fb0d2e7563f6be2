"""``airflow_mlops.operators``, ``.sensors`` and ``.hooks`` export their public classes lazily."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from tests.unit.test_layering import HEAVY

PACKAGES = ("airflow_mlops.operators", "airflow_mlops.sensors", "airflow_mlops.hooks")


@pytest.mark.parametrize("package", PACKAGES)
def test_each_public_name_imports_from_the_package(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__) == sorted(module._HOMES)
    for name in module.__all__:
        value = getattr(module, name)
        assert value.__name__ == name
        home = importlib.import_module(f"{package}.{module._HOMES[name]}")
        assert getattr(home, name) is value
        assert name in dir(module)


@pytest.mark.parametrize("package", PACKAGES)
def test_an_unknown_name_is_an_attribute_error(package: str) -> None:
    with pytest.raises(AttributeError, match="NoSuchOperator"):
        importlib.import_module(package).NoSuchOperator  # noqa: B018


def test_importing_the_packages_loads_no_heavy_library_nor_submodule() -> None:
    script = (
        "import json, sys\n"
        f"for name in {PACKAGES!r}: __import__(name)\n"
        "from airflow_mlops.operators import DvcPullOperator\n"
        f"heavy = [m for m in {list(HEAVY)!r} if m in sys.modules]\n"
        "print(json.dumps([heavy, 'airflow_mlops.sensors.data' in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    heavy, sensor_module_loaded = json.loads(out.strip().splitlines()[-1])
    assert heavy == []
    assert not sensor_module_loaded
