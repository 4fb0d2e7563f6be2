"""Running the entrypoint somewhere else: the plan shared by the Docker, local and Kubernetes
backends, reading the result from the output directory, and explaining failures.

Nothing here talks to Docker or Kubernetes; the operator does, with these plain pieces.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_mlops.errors import ConfigError, TrainingError

#: where the data directory (read-only) and the output directory appear inside the container
DATA_MOUNT = "/mnt/data"
OUTPUT_MOUNT = "/mnt/output"
ERROR_FILE = "error.json"
#: prefixes the error report on the last line of output when error.json cannot be written
ERROR_LINE = "airflow-mlops-error: "
ENTRYPOINT = ("python", "-m", "airflow_mlops.training")
#: entrypoint exit codes per failure kind (137 = killed by SIGKILL, e.g. the OOM killer)
EXIT_CODES = {"ConfigError": 2, "DataError": 3, "TrainingError": 4, "crash": 1}
GPU_MODES = ("auto", "required", "none")
#: metrics that stay out of XCom (the per-epoch history is in metrics.json)
BULKY_METRICS = ("history",)
LOG_TAIL = 30
#: environment variables that carry credentials or Airflow's configuration (its database URL,
#: Fernet and JWT keys): training needs none, so the local backend's process does not get them
SECRET_VARIABLE = re.compile(
    r"^(AIRFLOW_CONN_|AIRFLOW_VAR_|AIRFLOW__|MLFLOW_TRACKING_(USERNAME|PASSWORD|TOKEN)$)"
    r"|PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|_KEY$|_KEY_ID$|_API_KEY|_AUTH$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class GpuChoice:
    """Whether to request GPUs, the ``device`` param the entrypoint gets, and why."""

    request_gpu: bool
    device: str
    reason: str


def choose_gpu(gpu: str, runtimes: list[str], *, where: str = "the Docker engine") -> GpuChoice:
    """Map ``gpu="auto"|"required"|"none"`` and the engine's runtimes to a decision.

    :raises ConfigError: ``required`` and no NVIDIA runtime.
    """
    if gpu not in GPU_MODES:
        raise ConfigError(f"gpu={gpu!r} is not one of {', '.join(GPU_MODES)}.")
    has_nvidia = "nvidia" in runtimes
    if gpu == "none":
        return GpuChoice(False, "cpu", "gpu='none': training on the CPU")
    if has_nvidia:
        return GpuChoice(
            True, "cuda" if gpu == "required" else "auto", f"{where} has the NVIDIA runtime"
        )
    if gpu == "required":
        raise ConfigError(
            f"gpu='required' but {where} has no NVIDIA runtime (runtimes: {sorted(runtimes)}).",
            hint="Install the NVIDIA Container Toolkit on the Docker host and restart dockerd "
            "(`nvidia-ctk runtime configure --runtime=docker`), or use gpu='auto' to fall back "
            "to the CPU.",
        )
    return GpuChoice(
        False, "cpu", f"gpu='auto': {where} has no NVIDIA runtime (runtimes: {sorted(runtimes)})"
    )


def entrypoint_args(data_name: str, params: dict[str, Any]) -> list[str]:
    """The entrypoint's arguments inside the container (data file name under :data:`DATA_MOUNT`)."""
    return [
        "--data",
        f"{DATA_MOUNT}/{data_name}",
        "--output",
        OUTPUT_MOUNT,
        "--params",
        json.dumps(params, sort_keys=True),
    ]


def prepare_output(output_dir: str | Path) -> Path:
    """Create ``output_dir`` and remove a previous try's result files (never read by mistake)
    and the temporary files of an atomic write that a killed try left (``.<name>.*.tmp``)."""
    target = Path(output_dir)
    target.mkdir(parents=True, exist_ok=True)
    for name in ("metrics.json", ERROR_FILE):
        (target / name).unlink(missing_ok=True)
    for leftover in target.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    return target


def read_result(output_dir: str | Path) -> dict[str, Any]:
    """The small result of a finished run: checkpoint URI, metrics (no history), device.

    :raises TrainingError: metrics.json is missing (the run did not finish) or unreadable.
    """
    directory = Path(output_dir).resolve()
    try:
        metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TrainingError(
            f"The training run left no readable metrics.json in {str(directory)!r}: {error}.",
            hint="The run did not finish; see the task log for the container's output.",
        ) from error
    return {
        "checkpoint_uri": directory.as_uri(),
        "metrics": {k: v for k, v in metrics.items() if k not in BULKY_METRICS},
        "device": metrics.get("device"),
    }


def explain_failure(
    *,
    exit_code: int | None,
    output_dir: str | Path,
    logs: list[str],
    oom_killed: bool = False,
    timed_out_after: float | None = None,
    memory_limit: str | None = None,
    where: str = "container",
) -> TrainingError:
    """A :class:`TrainingError` that says why a run failed: timeout, OOM, or the Python error."""
    tail = logs[-LOG_TAIL:]
    details: dict[str, Any] = {
        "exit_code": exit_code,
        "log_tail": tail,
        "output_dir": str(output_dir),
    }
    if timed_out_after is not None:
        return TrainingError(
            f"The training {where} was killed after its {timed_out_after:g} s timeout.",
            hint="Raise the timeout, lower max_epochs, or train on a GPU.",
            details=details,
        )
    if oom_killed or exit_code in (137, -9):  # SIGKILL: 128 + 9 in a container, -9 in Popen
        reason = (
            "was killed by the out-of-memory killer"
            if oom_killed
            else f"was killed by SIGKILL (exit code {exit_code}), most likely out of memory"
        )
        return TrainingError(
            f"The training {where} {reason}"
            + (f" at its memory limit {memory_limit}." if memory_limit else "."),
            hint="Give it more memory (mem_limit for a container, the worker's for a "
            "subprocess), or lower batch_size or the model size (hidden_layers).",
            details={**details, "oom_killed": oom_killed},
        )
    report = _error_report(Path(output_dir) / ERROR_FILE, logs)
    if report:
        hint = report.get("hint") or "Fix the error shown in the traceback below."
        trace = report.get("traceback", "")
        return TrainingError(
            f"Training failed in the {where} (exit code {exit_code}) with "
            f"{report.get('kind')}: {report.get('message')}\n{trace}".rstrip(),
            hint=hint,
            details={**details, "error": report},
        )
    return TrainingError(
        f"The training {where} exited with code {exit_code} and wrote no error report. "
        "Last lines of its output:\n" + "\n".join(tail),
        hint="Check that the image's entrypoint is `python -m airflow_mlops.training`.",
        details=details,
    )


def _error_report(error_file: Path, logs: list[str]) -> dict[str, Any]:
    """The entrypoint's error report: ``error.json``, else its :data:`ERROR_LINE` in ``logs``
    (written there when the output directory could not take the file, e.g. a full disk)."""
    texts = [error_file.read_text(encoding="utf-8")] if error_file.is_file() else []
    texts += [line.split(ERROR_LINE, 1)[1] for line in reversed(logs) if ERROR_LINE in line]
    for text in texts:
        try:
            return dict(json.loads(text))
        except (TypeError, ValueError):
            continue
    return {}


def without_secrets(
    environ: Mapping[str, str], is_secret: Callable[[str], bool] = lambda value: False
) -> dict[str, str]:
    """``environ`` minus the variables named like credentials (:data:`SECRET_VARIABLE`) and
    those whose value ``is_secret`` (e.g. a value Airflow masks)."""
    return {
        name: value
        for name, value in environ.items()
        if not SECRET_VARIABLE.search(name) and not is_secret(value)
    }


def run_local(
    data: str | Path,
    output_dir: str | Path,
    params: dict[str, Any],
    *,
    timeout: float | None = None,
    log: Callable[[str], None] = print,
    env: dict[str, str] | None = None,
    is_secret: Callable[[str], bool] = lambda value: False,
    started: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """The ``backend="local"`` runner: the same entrypoint in a subprocess of this Python.

    The process gets this one's environment :func:`without_secrets` (``is_secret`` marks more
    values to withhold), plus ``env``. Output lines are passed to ``log`` as they come. The
    process leads its own process group (in the caller's session), killed whole at ``timeout``
    (or by :func:`kill_process_group` with the id that ``started`` receives, when the task is
    killed).
    :returns: :func:`read_result` of the output directory.
    :raises TrainingError: explained by :func:`explain_failure`.
    """
    output = prepare_output(output_dir)
    argv = [
        sys.executable,
        "-m",
        "airflow_mlops.training",
        "--data",
        str(data),
        "--output",
        str(output),
        "--params",
        json.dumps(params, sort_keys=True),
    ]
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**without_secrets(os.environ, is_secret), "PYTHONUNBUFFERED": "1", **(env or {})},
        # its own process group (killed whole), in the worker's session (whose cleanup finds it)
        process_group=0,
    )
    if started is not None:
        started(process.pid)
    finished, timed_out = threading.Event(), threading.Event()

    def kill_at_deadline() -> None:
        if not finished.wait(timeout):
            timed_out.set()
            kill_process_group(process.pid)

    watchdog = threading.Thread(target=kill_at_deadline, daemon=True)
    if timeout is not None:
        watchdog.start()
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        log(lines[-1])
    exit_code = process.wait()
    finished.set()
    if exit_code != 0:
        raise explain_failure(
            exit_code=exit_code,
            output_dir=output,
            logs=lines,
            oom_killed=False,
            timed_out_after=timeout if timed_out.is_set() else None,
            where="subprocess",
        )
    return read_result(output)


def kill_process_group(pid: int) -> None:
    """Kill the process group :func:`run_local` started (training and any child it spawned);
    a group that has already exited is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


#: extended resources of the Kubernetes device plugins for GPUs (NVIDIA, AMD, Intel)
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "gpu.intel.com/xe")
#: NVIDIA MIG slices, e.g. ``nvidia.com/mig-1g.10gb`` (the device plugin's "mixed" strategy)
MIG_RESOURCE = re.compile(r"^nvidia\.com/mig-\d+g\.\d+gb$")
TOLERATION_KEYS = frozenset({"key", "operator", "value", "effect", "tolerationSeconds"})


def check_gpu_resource(name: str) -> str:
    """``name`` when a GPU device plugin advertises it.

    :raises ConfigError: naming the known resources; a typo would leave the pod pending forever
        (no node offers the resource) instead of failing.
    """
    if name in GPU_RESOURCES or MIG_RESOURCE.match(name):
        return name
    raise ConfigError(
        f"gpu_resource={name!r} is not a GPU resource that a Kubernetes device plugin "
        "advertises, so no node could run the pod.",
        hint=f"Use one of {', '.join(GPU_RESOURCES)} or an NVIDIA MIG slice such as "
        "'nvidia.com/mig-1g.10gb' (see `kubectl describe node` under Allocatable).",
    )


@dataclass(frozen=True)
class KubernetesTraining:
    """Where and with what the ``kubernetes`` backend's training pod runs.

    :param namespace: the pod's namespace.
    :param gpu_resource: the GPU extended resource (checked by :func:`check_gpu_resource`).
    :param gpus: GPUs per pod when the run asks for one (``gpu="auto"``/``"required"``).
    :param cpu: CPU request and limit, a Kubernetes quantity.
    :param memory: memory request and limit, a Kubernetes quantity.
    :param shm_size: size of the memory-backed ``/dev/shm``.
    :param node_selector: node labels the pod must run on, e.g. a GPU node pool's.
    :param tolerations: tolerations (Kubernetes' camelCase keys); a GPU pod also tolerates its
        GPU resource's ``NoSchedule`` taint.
    :param data_claim: PersistentVolumeClaim holding the data (mounted read-only); None = the
        data file's directory as a host path.
    :param output_claim: PersistentVolumeClaim for the output; None = a host path.
    :param service_account: the pod's service account (its token is never mounted).
    :param run_as_user: the non-root uid and gid the container runs as.
    """

    namespace: str = "default"
    gpu_resource: str = "nvidia.com/gpu"
    gpus: int = 1
    cpu: str = "2"
    memory: str = "8Gi"
    shm_size: str = "1Gi"
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    data_claim: str | None = None
    output_claim: str | None = None
    service_account: str | None = None
    run_as_user: int = 1000

    def __post_init__(self) -> None:
        check_gpu_resource(self.gpu_resource)
        if not isinstance(self.gpus, int) or self.gpus < 1:
            raise ConfigError(f"gpus={self.gpus!r} must be a whole number of at least 1.")
        if self.run_as_user <= 0:
            raise ConfigError(f"run_as_user={self.run_as_user!r}: the pod never runs as root.")
        object.__setattr__(self, "node_selector", dict(self.node_selector))
        object.__setattr__(self, "tolerations", tuple(dict(t) for t in self.tolerations))
        for toleration in self.tolerations:
            unknown = sorted(set(toleration) - TOLERATION_KEYS)
            if unknown:
                raise ConfigError(
                    f"toleration {toleration!r} has unknown keys {unknown}.",
                    hint=f"A toleration has the keys {sorted(TOLERATION_KEYS)}.",
                )


def kubernetes_pod_spec(
    *,
    image: str,
    data_path: str,
    output_path: str,
    params: dict[str, Any],
    gpu: str = "auto",
    name: str = "airflow-mlops-train",
    placement: KubernetesTraining | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """The pod manifest that runs the entrypoint on Kubernetes (for ``KubernetesPodOperator``).

    Pass it as ``KubernetesPodOperator(pod_template_dict=kubernetes_pod_spec(...), ...)``. GPUs are
    requested through the ``gpu_resource`` limit (``gpu="none"`` requests none; ``"auto"`` and
    ``"required"`` request ``gpus``: Kubernetes schedules only onto GPU nodes, so there is no
    silent CPU fallback). Data and output are PersistentVolumeClaims when named, host paths
    otherwise; data is mounted read-only; the pod runs as a non-root user without privilege
    escalation or capabilities on a read-only root filesystem, without a service-account token
    and without secrets in its environment; ``/dev/shm`` is a memory-backed volume.

    :param placement: where and with what the pod runs; or its fields as keyword ``settings``.
    """
    if gpu not in GPU_MODES:
        raise ConfigError(f"gpu={gpu!r} is not one of {', '.join(GPU_MODES)}.")
    k8s = placement or KubernetesTraining(**settings)
    data_dir, data_name = str(Path(data_path).parent), Path(data_path).name
    limits = {"cpu": k8s.cpu, "memory": k8s.memory}
    if gpu != "none":
        limits[k8s.gpu_resource] = str(k8s.gpus)
    device = {"none": "cpu", "auto": "auto", "required": "cuda"}[gpu]

    def volume(volume_name: str, claim: str | None, host_path: str, read_only: bool) -> dict:
        if claim:
            source = {"persistentVolumeClaim": {"claimName": claim, "readOnly": read_only}}
        else:
            source = {"hostPath": {"path": host_path, "type": "DirectoryOrCreate"}}
        return {"name": volume_name, **source}

    container = {
        "name": "base",
        "image": image,
        "args": entrypoint_args(data_name, {**params, "device": device}),
        "env": [{"name": "PYTHONUNBUFFERED", "value": "1"}, {"name": "HOME", "value": "/tmp"}],
        "resources": {"requests": {"cpu": k8s.cpu, "memory": k8s.memory}, "limits": limits},
        "volumeMounts": [
            {"name": "data", "mountPath": DATA_MOUNT, "readOnly": True},
            {"name": "output", "mountPath": OUTPUT_MOUNT},
            {"name": "dshm", "mountPath": "/dev/shm"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": k8s.run_as_user,
            "runAsGroup": k8s.run_as_user,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    tolerations = [dict(t) for t in k8s.tolerations]
    if gpu != "none" and k8s.gpu_resource not in {t.get("key") for t in tolerations}:
        tolerations.append({"key": k8s.gpu_resource, "operator": "Exists", "effect": "NoSchedule"})
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {"fsGroup": k8s.run_as_user, "runAsNonRoot": True},
        "containers": [container],
        "volumes": [
            volume("data", k8s.data_claim, data_dir, True),
            volume("output", k8s.output_claim, output_path, False),
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": k8s.shm_size}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if tolerations:
        spec["tolerations"] = tolerations
    if k8s.node_selector:
        spec["nodeSelector"] = dict(k8s.node_selector)
    if k8s.service_account:
        spec["serviceAccountName"] = k8s.service_account
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": k8s.namespace,
            "labels": {"app.kubernetes.io/name": "airflow-mlops-train"},
        },
        "spec": spec,
    }
