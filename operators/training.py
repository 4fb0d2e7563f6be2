"""TrainInDockerOperator: run the training entrypoint in a locked-down container (or locally)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.docker.exceptions import DockerContainerFailedException
from airflow.providers.docker.operators.docker import DockerOperator

from airflow_mlops.errors import ConfigError, MlopsError, TrainingError
from airflow_mlops.inputs import (
    check_choice,
    check_image,
    check_mapping,
    check_number,
    check_path,
    check_pattern,
    check_size,
    rule,
)
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.artifacts import context_artifact_dir
from airflow_mlops.operators.exceptions import MlopsTaskError
from airflow_mlops.plugins.links import TrainingOutputLink
from airflow_mlops.training.container import (
    DATA_MOUNT,
    GPU_MODES,
    OUTPUT_MOUNT,
    choose_gpu,
    entrypoint_args,
    explain_failure,
    kill_process_group,
    prepare_output,
    read_result,
    run_local,
)
from airflow_mlops.variables import DEFAULT_TRAINING_IMAGE, TRAINING_IMAGE_VARIABLE

if TYPE_CHECKING:
    from airflow.sdk import Context

    from docker import APIClient

BACKENDS = ("docker", "local")
#: the image's non-root user, used when the worker itself runs as root
IMAGE_USER = "1000:1000"
#: the longest train_timeout accepted: 30 days
MAX_TIMEOUT_S = 30 * 86_400


def check_timeout(name: str, value: Any) -> float:
    """A positive finite number of seconds (or a timedelta) up to :data:`MAX_TIMEOUT_S`."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    return check_number(name, seconds, 0, MAX_TIMEOUT_S, exclusive_minimum=True)


#: argument checks; ``image`` only applies to the docker backend (see ``argument_rules``)
RULES = {
    "gpu": rule(check_choice, GPU_MODES),
    "backend": rule(check_choice, BACKENDS),
    "train_timeout": check_timeout,
    "mem_limit": rule(check_size, allow_none=True),
    "cpu_limit": rule(check_number, 0, 1024, exclusive_minimum=True, allow_none=True),
    "shm_size": check_size,
    "tmp_size": check_size,
    "network_mode": rule(
        check_pattern,
        r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$(?!\n)",
        "must be a Docker network mode such as 'none', 'bridge' or 'container:<name>'",
    ),
    "user": rule(
        check_pattern,
        r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$(?!\n)",
        "must be 'uid', 'uid:gid' or a user name",
        allow_none=True,
    ),
    "data_path": check_path,
    "training_params": check_mapping,
    "output_dir": rule(check_path, allow_none=True),
}


def _masked(value: str) -> bool:
    """True when ``value`` holds a secret Airflow masks (of a connection or variable used)."""
    from airflow.sdk.log import redact

    return redact(value) != value


class TrainingTaskError(MlopsTaskError):
    """Training failed: bad params, no engine, OOM, crash (traceback inside) or timeout."""


class LockedDownClient:
    """A Docker API client whose ``create_host_config`` adds ``lockdown`` to every host config
    (over the caller's values); everything else is the wrapped client's."""

    def __init__(self, client: APIClient, lockdown: dict[str, Any]) -> None:
        self._client = client
        self._lockdown = lockdown

    def create_host_config(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._client.create_host_config(*args, **{**kwargs, **self._lockdown})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class TrainInDockerOperator(DockerOperator):
    """Train a model with ``python -m airflow_mlops.training`` in the training image.

    The data file's directory is mounted read-only at ``/mnt/data``, ``output_dir`` read-write at
    ``/mnt/output``; the container runs as a non-root user on a read-only root filesystem with no
    network, no capabilities, memory (without swap), shm and optional CPU limits, and is always
    removed (also after a failure or a timeout). User, network, memory, shm and the ``/tmp``
    tmpfs are DockerOperator arguments; the rest, which DockerOperator 4.x has no argument for,
    is :meth:`host_config_lockdown`, added to the host config through :attr:`cli`. The result
    is read as JSON from the output directory, never through ``retrieve_output``. Returns to
    XCom ``{"checkpoint_uri", "metrics", "image_digest", "device", "backend"}`` (``metrics``
    without the per-epoch history, which stays in metrics.json).

    The container gets no secrets: training needs no network and no credentials, and ``docker
    inspect`` shows a container's environment and arguments to anyone who may use the engine.
    So ``private_environment`` and ``env_file`` are refused, and so is an ``environment`` or
    ``training_params`` value holding a secret that Airflow masks (a connection's password or
    extra, a sensitive Variable).

    :param data_path: a local CSV/Parquet file, e.g. the DVC pull task's ``local_path``.
        (templated)
    :param training_params: :class:`~airflow_mlops.training.config.TrainingConfig` fields as a
        dict, validated before the container starts; ``device`` is set from ``gpu``. (templated)
    :param output_dir: where model.pt, metrics.json and config.json go; default
        ``<artifact root>/training/<dag_id>/<run_id>/<task_id>[/<map_index>]``. (templated)
    :param image: the training image; default the Airflow Variable ``mlops_training_image``,
        else ``airflow-mlops-train:latest``. (templated)
    :param gpu: ``"auto"`` requests GPUs when the engine has the NVIDIA runtime and logs its
        choice, ``"required"`` fails clearly without it, ``"none"`` trains on the CPU.
    :param backend: ``"docker"``; or ``"local"`` to run the same entrypoint in a subprocess of
        the worker's Python (no isolation; for machines without a Docker engine). Its process
        gets the worker's environment without credentials and Airflow settings.
    :param train_timeout: kill and remove the container after this long (seconds or timedelta).
    :param mem_limit: container memory limit (swap disabled), e.g. ``"4g"``.
    :param cpu_limit: CPUs the container may use (a hard quota, unlike ``cpus``), or None.
    :param shm_size: ``/dev/shm`` size in bytes.
    :param tmp_size: size of the ``/tmp`` tmpfs (the only writable path besides the output).
    :param network_mode: ``"none"`` by default: training needs no network.
    :param user: ``uid:gid`` in the container; default the worker's own ids, or the image's
        non-root user ``1000:1000`` when the worker runs as root (the output dir is then
        handed to that user).
    """

    template_fields: Sequence[str] = (
        *DockerOperator.template_fields,
        "data_path",
        "training_params",
        "output_dir",
    )
    template_fields_renderers = {"training_params": "json"}
    operator_extra_links = (TrainingOutputLink(),)
    ui_color = "#f0a04b"

    def __init__(
        self,
        *,
        data_path: str,
        training_params: dict[str, Any],
        output_dir: str | None = None,
        image: str | None = None,
        gpu: str = "auto",
        backend: str = "docker",
        train_timeout: float | timedelta = timedelta(hours=2),
        mem_limit: str | None = "4g",
        cpu_limit: float | None = None,
        shm_size: int = 1 << 30,
        tmp_size: str = "1g",
        network_mode: str = "none",
        user: str | None = None,
        **kwargs: Any,
    ) -> None:
        refused = [name for name in ("private_environment", "env_file") if kwargs.get(name)]
        if refused:
            raise ValueError(
                f"{' and '.join(refused)} would put secrets where `docker inspect` shows them; "
                "the training container gets none (it has no network and needs no credentials)."
            )
        widened = [name for name in ("privileged", "cap_add") if kwargs.get(name)]
        if widened:
            raise ValueError(
                f"{' and '.join(widened)} would undo the container's lockdown (no capabilities, "
                "no privileges); training needs neither."
            )
        super().__init__(
            image=image
            or f"{{{{ var.value.get('{TRAINING_IMAGE_VARIABLE}', '{DEFAULT_TRAINING_IMAGE}') }}}}",
            mem_limit=mem_limit,
            shm_size=shm_size,
            network_mode=network_mode,
            user=user,
            auto_remove="never",  # removed by execute itself, after reading its exit state
            mount_tmp_dir=False,
            retrieve_output=False,
            **kwargs,
        )
        labels = self.labels or {}
        labels = dict.fromkeys(labels, "") if isinstance(labels, list) else dict(labels)
        self.labels = {**labels, "airflow-mlops.training": "true"}
        self.data_path = data_path
        self.training_params = training_params
        self.output_dir = output_dir
        self.gpu = gpu
        self.backend = backend
        self.train_timeout = train_timeout
        self.cpu_limit = cpu_limit
        self.tmp_size = tmp_size
        #: the local backend's process group and output, while it trains (for on_kill)
        self._local_run: tuple[int, Path] | None = None
        check_arguments(self, self.argument_rules, rendered=False)
        self.train_timeout = check_timeout("train_timeout", train_timeout)

    @property
    def argument_rules(self) -> dict[str, Any]:
        """The argument checks: :data:`RULES`, and the image's for the docker backend."""
        return {**RULES, "image": check_image} if self.backend == "docker" else RULES

    def execute(self, context: Context) -> dict[str, Any]:
        check_arguments(self, self.argument_rules, rendered=True)
        data = self._check_data(self.data_path)
        params = self._check_params(self.training_params)
        output = prepare_output(self.output_dir or self.default_output_dir(context))
        self.log.info("training on %s, output in %s, backend %s", data, output, self.backend)
        try:
            if self.backend == "local":
                device = {"none": "cpu", "required": "cuda", "auto": "auto"}[self.gpu]
                result = run_local(
                    data,
                    output,
                    {**params, "device": device},
                    timeout=self.train_timeout,
                    log=self.log.info,
                    is_secret=_masked,
                    started=lambda pid: setattr(self, "_local_run", (pid, output)),
                    env=self.environment or None,
                )
                return {**result, "image_digest": None, "backend": "local"}
            return self._run_in_docker(context, data, output, params)
        except MlopsError as error:
            raise TrainingTaskError.from_core(error) from error

    def default_output_dir(self, context: Context) -> Path:
        """``<artifact root>/training/<dag_id>/<run_id>/<task_id>[/<map_index>]``."""
        return context_artifact_dir(context, "training")

    def _check_data(self, data_path: str) -> Path:
        path = Path(str(data_path))
        if not path.is_file():
            raise TrainingTaskError(
                f"data_path {str(data_path)!r} is not a local file.\nWhat to do: pass the file "
                "that the DVC pull task wrote (its XCom 'local_path'), on a disk this worker and "
                "the Docker engine share."
            )
        return path.resolve()

    def _check_params(self, training_params: dict[str, Any]) -> dict[str, Any]:
        from airflow_mlops.training.config import TrainingConfig  # not needed at DAG parse

        try:
            return TrainingConfig.from_dict(dict(training_params)).to_dict()
        except (ConfigError, TypeError, ValueError) as error:
            if isinstance(error, MlopsError):
                raise TrainingTaskError.from_core(error) from error
            raise TrainingTaskError(f"training_params must be a dict: {error}") from error

    def _engine_runtimes(self) -> list[str]:
        """The engine's runtimes; a clear error when no engine answers."""
        try:
            info = self.cli.info()
        except Exception as error:  # docker raises DockerException, requests errors, ...
            raise TrainingError(
                f"No Docker engine answers at {self.docker_url}: {error}",
                hint="Start Docker (`sudo systemctl start docker`, or `dockerd &` as root) and "
                "make its socket readable by the Airflow worker, or set backend='local' to "
                "train in a subprocess of the worker.",
            ) from error
        return sorted(info.get("Runtimes", {}))

    @property
    def cli(self) -> LockedDownClient:
        """The hook's Docker client, through which every host config also gets
        :meth:`host_config_lockdown`."""
        return LockedDownClient(self.hook.api_client, self.host_config_lockdown())

    def host_config_lockdown(self) -> dict[str, Any]:
        """The protections that DockerOperator 4.x has no constructor argument for: read-only
        root filesystem, no capabilities, no-new-privileges, memory without swap, CPU limit.
        (User, network, memory, shm and the ``/tmp`` tmpfs go through its arguments.)"""
        return {
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "memswap_limit": self.mem_limit,
            "nano_cpus": int(self.cpu_limit * 1e9) if self.cpu_limit else None,
        }

    def on_kill(self) -> None:
        """Remove the container at once (killing it), or kill the local backend's process group
        and delete its partial output. Not DockerOperator's ``docker stop`` first: it waits 10 s
        for a process that ignores SIGTERM (a container's PID 1 does), and Airflow's supervisor
        kills the task 5 s after SIGTERM, so the removal after it never ran."""
        if self._local_run is not None:
            pid, output = self._local_run
            kill_process_group(pid)
            shutil.rmtree(output, ignore_errors=True)
        self._remove_container()

    def _run_in_docker(
        self, context: Context, data: Path, output: Path, params: dict[str, Any]
    ) -> dict[str, Any]:
        from docker.errors import DockerException
        from docker.types import DeviceRequest, Mount

        self._refuse_visible_secrets(params)
        choice = choose_gpu(self.gpu, self._engine_runtimes())
        self.log.info(
            "GPU: %s -> %s", choice.reason, "GPU requested" if choice.request_gpu else "CPU"
        )
        if choice.request_gpu:
            self.device_requests = [DeviceRequest(count=-1, capabilities=[["gpu"]])]
        self.user = self.user or self._container_user(data, output)
        self.mounts = [
            *self.mounts,
            {"target": DATA_MOUNT, "source": str(data.parent), "type": "bind", "read_only": True},
            {"target": OUTPUT_MOUNT, "source": str(output), "type": "bind"},
            Mount("/tmp", "", type="tmpfs", tmpfs_size=self.tmp_size),
        ]
        self.command = entrypoint_args(data.name, {**params, "device": choice.device})
        self.environment = {**self.environment, "PYTHONUNBUFFERED": "1", "HOME": "/tmp"}
        timed_out = threading.Event()
        finished = threading.Event()

        def kill_at_deadline() -> None:
            if finished.wait(self.train_timeout) or not self.container:
                return
            timed_out.set()
            self.log.error(
                "train_timeout of %g s reached: killing the container", self.train_timeout
            )
            try:
                self.cli.kill(self.container["Id"])
            except DockerException as error:  # it exited on its own meanwhile
                self.log.info("container already stopped: %s", error)

        watchdog = threading.Thread(target=kill_at_deadline, daemon=True)
        watchdog.start()
        try:
            super().execute(context)
        except DockerContainerFailedException as error:
            state = self.cli.inspect_container(self.container["Id"])["State"]
            raise explain_failure(
                exit_code=state.get("ExitCode"),
                output_dir=output,
                logs=[str(line) for line in error.logs or []],
                oom_killed=bool(state.get("OOMKilled")),
                timed_out_after=self.train_timeout if timed_out.is_set() else None,
                memory_limit=self.mem_limit,
            ) from error
        except DockerException as error:
            raise TrainingError(
                f"The Docker engine refused to run image {self.image!r}: {error}",
                hint="Check that the image exists on the engine (docker/build.sh builds it) "
                "and that the GPU runtime is installed when a GPU is requested.",
            ) from error
        finally:
            finished.set()
            self._remove_container()
        return {**read_result(output), "image_digest": self._image_digest(), "backend": "docker"}

    def _refuse_visible_secrets(self, params: dict[str, Any]) -> None:
        """No environment variable or training param may hold a secret Airflow masks."""
        shown = {f"environment {k!r}": v for k, v in self.environment.items()}
        shown["training_params"] = json.dumps(params, sort_keys=True)
        leaked = [where for where, value in shown.items() if _masked(str(value))]
        if leaked:
            raise TrainingError(
                f"The training container's {', '.join(leaked)} would show a secret (of an "
                "Airflow connection or variable) to anyone who can run `docker inspect`.",
                hint="Training needs no credentials: remove the secret from environment and "
                "training_params.",
            )

    def _image_digest(self) -> str:
        """The image's repo digest when it was pushed to a registry, else its local id."""
        image = self.cli.inspect_image(self.image)
        return (image.get("RepoDigests") or [None])[0] or image["Id"]

    def _container_user(self, data: Path, output: Path) -> str:
        """The worker's ids; for a root worker the image's user, who must be able to read data."""
        if os.geteuid() != 0:
            return f"{os.getuid()}:{os.getgid()}"
        if not (data.stat().st_mode & 0o004 and data.parent.stat().st_mode & 0o005 == 0o005):
            raise TrainingError(
                f"The container runs as {IMAGE_USER} (the worker is root) but cannot read "
                f"{str(data)!r} (mode {oct(data.stat().st_mode & 0o777)}, directory mode "
                f"{oct(data.parent.stat().st_mode & 0o777)}).",
                hint="Make the data readable (`chmod o+rX` on the file and its directory), or "
                "pass user='<uid>:<gid>' of a non-root user that owns it.",
            )
        uid, gid = (int(part) for part in IMAGE_USER.split(":"))
        os.chown(output, uid, gid)
        return IMAGE_USER

    def _remove_container(self) -> None:
        if not self.container:
            return
        try:
            self.cli.remove_container(self.container["Id"], force=True)
        except Exception as error:  # already gone: nothing is left behind either way
            self.log.warning("could not remove container %s: %s", self.container["Id"], error)
