"""Read the MLflow model registry: resolve an alias or version, download its ONNX file.

Every call goes through :func:`registry_call`, which turns MLflow's exceptions into
:class:`~airflow_mlops.errors.RegistryError` subclasses that say whether the server refused or
could not be reached. MLflow retries an unreachable server for minutes by default; set
``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` and ``MLFLOW_HTTP_REQUEST_TIMEOUT`` to fail faster and let
Airflow's task retries take over.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_mlops.artifacts import atomic_directory
from airflow_mlops.errors import (
    ConfigError,
    ModelVersionNotFoundError,
    RegistryError,
    RegistryUnavailableError,
)
from airflow_mlops.lineage import CHAMPION, FINGERPRINT_TAG, GATE_DECISION_TAG, ONNX_SHA256_TAG

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: the artifact path of the logged model, and the ONNX file inside it (mlflow.onnx's name)
MODEL_ARTIFACT = "model"
ONNX_FILE = "model.onnx"

T = TypeVar("T")


def registration_experiment(model: str) -> str:
    """The MLflow experiment where the registration runs of ``model`` are logged."""
    return f"ct/{model}"


def monitoring_experiment(model: str) -> str:
    """The MLflow experiment where monitoring logs the drift history of ``model``."""
    return f"monitoring/{model}"


@dataclass(frozen=True)
class ModelVersionRef:
    """One registered model version: what it is and where its ONNX file lives.

    :param name: registered model name.
    :param version: version number, as a string.
    :param run_id: the MLflow run that logged the model (None if registered from elsewhere).
    :param aliases: every alias that points at this version.
    :param tags: the version's tags (lineage ``mlops.*``, gate decision, ...).
    :param onnx_uri: artifact URI of the ``model.onnx`` file.
    """

    name: str
    version: str
    run_id: str | None
    aliases: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    onnx_uri: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for XCom)."""
        return {
            "name": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "aliases": list(self.aliases),
            "tags": dict(self.tags),
            "onnx_uri": self.onnx_uri,
        }


def mlflow_client(tracking_uri: str) -> MlflowClient:
    """A client whose tracking and registry URIs are both ``tracking_uri``."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def registry_call(what: str, tracking_uri: str, call: Callable[[], T]) -> T:
    """Run ``call``; MLflow errors become :class:`RegistryError` subclasses naming ``what``.

    :raises ModelVersionNotFoundError: the server answered that the resource does not exist.
    :raises RegistryUnavailableError: the server could not be reached.
    :raises RegistryError: the server refused the request for another reason.
    """
    from mlflow.exceptions import MlflowException, RestException

    try:
        return call()
    except RestException as error:
        if _is_missing(error):
            raise ModelVersionNotFoundError(
                f"MLflow at {tracking_uri} has nothing to {what}: {error.message}",
                hint="Check the model name, version or alias (the MLflow UI lists them).",
                details={"error_code": error.error_code},
            ) from error
        raise RegistryError(
            f"MLflow at {tracking_uri} refused to {what}: {error.message}",
            hint="Read the message above and the tracking server's log.",
            details={"error_code": error.error_code},
        ) from error
    except (MlflowException, OSError) as error:
        raise unreachable(tracking_uri, what, error) from error


def unreachable(tracking_uri: str, what: str, error: BaseException) -> RegistryUnavailableError:
    """The error for a tracking server that gave no answer while doing ``what``."""
    return RegistryUnavailableError(
        f"MLflow at {tracking_uri} is unreachable while trying to {what}: {error}",
        hint="Start the tracking server or fix the mlflow_default connection "
        "(or MLFLOW_TRACKING_URI); the task is safe to retry.",
    )


def _is_missing(error: Any) -> bool:
    if error.error_code == "RESOURCE_DOES_NOT_EXIST":
        return True
    # a missing alias is reported as INVALID_PARAMETER_VALUE "... alias X not found"
    return error.error_code == "INVALID_PARAMETER_VALUE" and "not found" in error.message


def check_filter_value(name: str, value: str) -> str:
    """``value`` if it can be quoted in an MLflow search filter, else :class:`ConfigError`."""
    if not value or "'" in value or "\\" in value:
        raise ConfigError(
            f"{name}={value!r} cannot be used in a registry search.",
            hint=f"Use a non-empty {name} without quotes or backslashes.",
        )
    return value


def tag_clauses(tags: Mapping[str, str]) -> list[str]:
    """Search-filter clauses requiring every tag to equal its value."""
    return [f"tags.`{key}` = '{check_filter_value(key, value)}'" for key, value in tags.items()]


def tag_filter(name: str, tags: Mapping[str, str]) -> str:
    """A ``search_model_versions`` filter: model ``name`` and every tag equal to its value."""
    clauses = [f"name = '{check_filter_value('model name', name)}'", *tag_clauses(tags)]
    return " AND ".join(clauses)


def version_ref(client: MlflowClient, tracking_uri: str, version: Any) -> ModelVersionRef:
    """A :class:`ModelVersionRef` from an MLflow ``ModelVersion`` (one extra call for its URI)."""
    base = registry_call(
        f"locate the artifacts of {version.name} v{version.version}",
        tracking_uri,
        lambda: client.get_model_version_download_uri(version.name, version.version),
    )
    return ModelVersionRef(
        name=version.name,
        version=str(version.version),
        run_id=version.run_id or None,
        aliases=tuple(sorted(version.aliases or ())),
        tags=dict(version.tags or {}),
        onnx_uri=f"{base.rstrip('/')}/{ONNX_FILE}",
    )


def find_versions(tracking_uri: str, name: str, tags: Mapping[str, str]) -> list[ModelVersionRef]:
    """Versions of ``name`` carrying all ``tags``, oldest first (empty if the model is new)."""
    client = mlflow_client(tracking_uri)
    found = registry_call(
        f"search versions of {name!r} tagged {dict(tags)}",
        tracking_uri,
        lambda: client.search_model_versions(tag_filter(name, tags)),
    )
    ordered = sorted(found, key=lambda v: int(v.version))
    return [version_ref(client, tracking_uri, v) for v in ordered]


def find_trained_version(tracking_uri: str, name: str, fingerprint: str) -> str | None:
    """The number of the oldest version of ``name`` tagged with CT ``fingerprint``, or None.

    A tracking server (http/https) is asked through its REST API directly, so a CT rerun that
    skips training never pays ``import mlflow`` (seconds); other URIs use MLflow's client.
    """
    from airflow_mlops.mlflow_rest import MlflowRest, is_http_uri

    if not is_http_uri(tracking_uri):
        found = find_versions(tracking_uri, name, {FINGERPRINT_TAG: fingerprint})
        return found[0].version if found else None
    what = f"search versions of {name!r} tagged {FINGERPRINT_TAG}={fingerprint}"
    query = {"filter": tag_filter(name, {FINGERPRINT_TAG: fingerprint})}
    try:
        versions = MlflowRest(tracking_uri).pages("model-versions/search", "model_versions", query)
    except RegistryError as error:
        if "status" in error.details:  # the server answered, and refused
            raise
        raise unreachable(tracking_uri, what, error.__cause__ or error) from error
    numbers = sorted(int(version["version"]) for version in versions)
    return str(numbers[0]) if numbers else None


def evaluation_finished(tracking_uri: str, name: str, version: str) -> bool:
    """Whether the gate is done with ``version``: it tagged a decision (``mlops.gate_decision``)
    and, when it accepted, ``champion`` reached the version (it points at it or at a newer one).

    A version whose run failed in evaluation (no decision) or in promotion (accepted, never
    champion) is not done: the next run with its fingerprint evaluates it again. Like
    :func:`find_trained_version`, a tracking server is asked through its REST API.
    """
    from airflow_mlops.mlflow_rest import MlflowRest, is_http_uri

    if is_http_uri(tracking_uri):
        what = f"read version {version} of {name!r}"
        try:
            rest = MlflowRest(tracking_uri)
            found = rest.get("model-versions/get", name=name, version=version)["model_version"]
            tags = {tag["key"]: tag["value"] for tag in found.get("tags", [])}
            model = rest.get("registered-models/get", name=name)["registered_model"]
        except RegistryError as error:
            if "status" in error.details:
                raise
            raise unreachable(tracking_uri, what, error.__cause__ or error) from error
        aliases = {item["alias"]: item["version"] for item in model.get("aliases", [])}
        champion = aliases.get(CHAMPION)
    else:
        tags = dict(resolve_model_version(tracking_uri, name, version).tags)
        champion = alias_version(tracking_uri, name, CHAMPION)
    decision = tags.get(GATE_DECISION_TAG)
    if decision is None:
        return False
    return decision != "accepted" or (champion is not None and int(champion) >= int(version))


def resolve_model_version(tracking_uri: str, name: str, alias_or_version: str) -> ModelVersionRef:
    """The version of ``name`` that an alias (``champion``) or a version number (``3``) names.

    :raises ModelVersionNotFoundError: no such model, alias or version.
    :raises RegistryUnavailableError: the server could not be reached.
    """
    client = mlflow_client(tracking_uri)
    key = str(alias_or_version).strip()
    if not key:
        raise ConfigError(
            f"Empty alias or version for model {name!r}.",
            hint="Pass an alias such as 'champion' or a version number such as '3'.",
        )
    if key.isdigit():
        version = registry_call(
            f"get version {key} of model {name!r}",
            tracking_uri,
            lambda: client.get_model_version(name, key),
        )
    else:
        version = registry_call(
            f"get alias {key!r} of model {name!r}",
            tracking_uri,
            lambda: client.get_model_version_by_alias(name, key),
        )
    return version_ref(client, tracking_uri, version)


def alias_version(tracking_uri: str, name: str, alias: str) -> str | None:
    """The version number ``alias`` points at, or None when the alias (or model) is unset."""
    try:
        return resolve_model_version(tracking_uri, name, alias).version
    except ModelVersionNotFoundError:
        return None


def cache_path(cache_dir: str | Path, ref: ModelVersionRef) -> Path:
    """Where :func:`download_onnx` keeps the ONNX file of ``ref``."""
    safe_name = urllib.parse.quote(ref.name, safe="")
    return Path(cache_dir) / safe_name / ref.version / ONNX_FILE


def download_onnx(tracking_uri: str, ref: ModelVersionRef, cache_dir: str | Path) -> Path:
    """The local path of ``ref``'s ONNX file, downloaded once into ``cache_dir``.

    The file is checked against the version's ``mlops.onnx_sha256`` tag when it has one, and
    lands atomically, so concurrent callers never see a partial file.

    :raises RegistryError: the download failed or the file does not match its checksum.
    """
    import mlflow.artifacts

    target = cache_path(cache_dir, ref)
    if target.is_file():
        return target
    with atomic_directory(target.parent) as staging:
        registry_call(
            f"download {ref.onnx_uri} ({ref.name} v{ref.version})",
            tracking_uri,
            lambda: mlflow.artifacts.download_artifacts(
                artifact_uri=ref.onnx_uri, dst_path=str(staging), tracking_uri=tracking_uri
            ),
        )
        expected = ref.tags.get(ONNX_SHA256_TAG)
        actual = file_sha256(staging / ONNX_FILE)
        if expected and actual != expected:
            raise RegistryError(
                f"The ONNX file of {ref.name} v{ref.version} has sha256 {actual}, "
                f"but the version is tagged {ONNX_SHA256_TAG}={expected}.",
                hint="The artifact store was modified after registration; re-register the model.",
                details={"uri": ref.onnx_uri, "expected": expected, "actual": actual},
            )
    return target


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
