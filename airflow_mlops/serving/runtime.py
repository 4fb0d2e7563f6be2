"""The clean serving runtime: a virtualenv with onnxruntime and numpy only (no torch, no
Airflow, no airflow-mlops), made once under a root folder and reused.

It pins the onnxruntime and numpy versions of the running interpreter, so the runtime scores
like the exporter did; pip takes them from its cache or the configured index. Where a Docker
engine runs, level 2 builds the same runtime as a minimal image instead
(:func:`serving_dockerfile`).
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import subprocess
import sys
import venv
from pathlib import Path

from airflow_mlops.errors import ServingError

#: the packages of the runtime; their versions are those of the running interpreter
PACKAGES = ("onnxruntime", "numpy")
#: written last into a finished runtime
READY_FILE = "READY"


def requirements() -> list[str]:
    """``name==version`` of :data:`PACKAGES` as installed here."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in PACKAGES]


def runtime_dir(root: str | Path) -> Path:
    """The runtime's folder under ``root``, named by Python and package versions."""
    tag = "-".join(r.replace("==", "") for r in requirements())
    return Path(root) / "serving-runtime" / f"py{sys.version_info[0]}.{sys.version_info[1]}-{tag}"


def runtime_python(folder: Path) -> Path:
    return folder / "bin" / "python"


def ensure_runtime(root: str | Path, *, create: bool = True, timeout_s: float = 900.0) -> Path:
    """The Python executable of the serving runtime under ``root``; makes it when missing.

    :param create: False: a missing runtime is an error instead of being made.
    :raises ServingError: the runtime is missing (``create=False``) or pip failed.
    """
    folder = runtime_dir(root)
    if (folder / READY_FILE).exists():
        return runtime_python(folder)
    if not create:
        raise ServingError(
            f"No serving runtime at {str(folder)!r}.",
            hint="Create it with airflow_mlops.serving.runtime.ensure_runtime(root) (a "
            "virtualenv with " + ", ".join(requirements()) + "), or let the gate create it.",
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker; the others wait and find it ready
        if not (folder / READY_FILE).exists():
            _make(folder, timeout_s)
    return runtime_python(folder)


def _make(folder: Path, timeout_s: float) -> None:
    venv.EnvBuilder(clear=True, with_pip=True).create(folder)
    command = [str(runtime_python(folder)), "-m", "pip", "install", "-q", *requirements()]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        raise ServingError(
            f"Installing the serving runtime took over {timeout_s:.0f} s: {' '.join(command)}",
            hint="Check pip's index or cache (PIP_INDEX_URL, PIP_FIND_LINKS) and retry.",
        ) from error
    if done.returncode != 0:
        raise ServingError(
            f"Installing the serving runtime failed (exit {done.returncode}): "
            f"{done.stderr.strip()[-1500:]}",
            hint="Make the wheels reachable to pip (PIP_INDEX_URL or PIP_FIND_LINKS with "
            + ", ".join(requirements())
            + f") and retry; the half-made runtime at {str(folder)!r} is replaced.",
        )
    (folder / READY_FILE).write_text("\n".join(requirements()) + "\n")


def serving_dockerfile(base_image: str) -> str:
    """A minimal serving image FROM ``base_image`` (a Python 3.11 base): the runtime's
    packages and the probe, nothing else; level 2 builds it beside the training image."""
    return (
        f"FROM {base_image}\n"
        "RUN python3 -m venv /opt/serving && /opt/serving/bin/pip install --no-cache-dir "
        + " ".join(requirements())
        + "\nCOPY probe.py /opt/serving/probe.py\n"
        'ENTRYPOINT ["/opt/serving/bin/python", "/opt/serving/probe.py"]\n'
    )
