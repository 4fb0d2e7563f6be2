"""The distribution installs what Airflow needs to find us: entry points, provider info, wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib.metadata import distribution, entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_provider_entry_point_describes_this_distribution() -> None:
    (entry,) = [
        e for e in entry_points(group="apache_airflow_provider") if "airflow_mlops" in e.value
    ]
    info = entry.load()()
    assert info["package-name"] == distribution("airflow-mlops").metadata["Name"]
    assert info["versions"] == [distribution("airflow-mlops").version]
    for connection in info["connection-types"]:
        module, _, cls = connection["hook-class-name"].rpartition(".")
        assert connection["connection-type"]
        assert module.startswith("airflow_mlops.hooks.")
    for link in info["extra-links"]:
        module, _, cls = link.rpartition(".")
        assert getattr(__import__(module, fromlist=[cls]), cls)


def test_plugin_entry_point_loads_an_airflow_plugin() -> None:
    from airflow.plugins_manager import AirflowPlugin

    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "airflow_mlops"]
    assert issubclass(entry.load(), AirflowPlugin)


def test_console_script_is_installed() -> None:
    (entry,) = [e for e in entry_points(group="console_scripts") if e.name == "airflow-mlops"]
    assert callable(entry.load())


@pytest.mark.slow
def test_airflow_cli_lists_our_provider_and_plugin(airflow_db: Path) -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    providers = subprocess.run([airflow, "providers", "list"], capture_output=True, text=True)
    assert "airflow-mlops" in providers.stdout
    plugins = subprocess.run([airflow, "plugins"], capture_output=True, text=True)
    assert "airflow_mlops" in plugins.stdout


@pytest.mark.slow
def test_wheel_contains_every_package_folder(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("airflow_mlops-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    source_packages = [p.parent for p in (ROOT / "airflow_mlops").rglob("__init__.py")]
    for folder in ("operators", "sensors", "plugins", "hooks"):
        source_packages += [p.parent for p in (ROOT / folder).rglob("__init__.py")]
    for package in source_packages:
        relative = package.relative_to(ROOT).as_posix()
        if not relative.startswith("airflow_mlops"):
            relative = f"airflow_mlops/{relative}"
        assert f"{relative}/__init__.py" in names, f"{relative} is missing from the wheel"
    # package data: the level-2 DAG finds the training image's Dockerfile through the package
    assert "airflow_mlops/docker/Dockerfile" in names
