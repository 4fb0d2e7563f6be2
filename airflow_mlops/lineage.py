"""The lineage contract: every MLflow tag and alias the pipeline writes, and the CT fingerprint.

This module is the one home of that vocabulary; the other modules import the names below.

Aliases of a registered model (moved only by ``model_registry``):

- ``challenger`` (:data:`CHALLENGER`): the newest registered version, set by the registration.
- ``champion`` (:data:`CHAMPION`): the version serving, moved by the gate's promotion (a
  compare-and-set under the promotion lock) and by a rollback.
- ``previous`` (:data:`PREVIOUS`): the champion before the last promotion; a rollback moves
  ``champion`` back to it and deletes it.

Tags, all prefixed ``mlops.`` (:data:`TAG_PREFIX`); values are strings:

- On a model version and its registration run, written by the registration
  (``RegisterModelOperator``): one tag per field of :class:`Lineage`, ``mlops.<field>``
  (:data:`LINEAGE_KEYS`): dataset, data rev/commit/md5, pipeline git sha, training image digest,
  model code fingerprint,
  validation outcome, DAG id, run id, trigger, CT fingerprint, training params (canonical
  JSON), ONNX parity and latency; plus ``mlops.onnx_sha256``, the ONNX file's sha256 that
  downloads are checked against. The run also carries ``mlops.model`` (the model's name) and
  ``mlops.model_id`` (its MLflow logged-model id, which lets a retry reuse the upload).
- On a model version, written by the gate (``EvaluateAndPromoteOperator``):
  ``mlops.gate_decision`` (``accepted``/``rejected``), ``mlops.gate_reasons`` (JSON list) and
  ``mlops.report_uri`` (the gate report), and the holdout both models were scored on:
  ``mlops.split_rule`` (:meth:`~airflow_mlops.data.holdout.SplitRule.to_lineage`),
  ``mlops.holdout_md5`` and ``mlops.holdout_rows``; ``mlops.infra_blessing`` (JSON: the
  serving runtime's smoke test and latency); a rollback tags the version it leaves
  ``mlops.rolled_back`` = ``true``.
- On the registered model: ``mlops.model`` (its name, by the registration),
  ``mlops.last_rollback`` (JSON of the last rollback's move), ``mlops.champion_history``
  (JSON list of the versions that were champion), ``mlops.reserved.<fingerprint>`` (JSON of
  the CT run that reserved a fingerprint before training) and, on the short-lived
  ``<name>.promotion-lock`` model, ``mlops.lock`` (JSON owner and start time).
- On a monitoring run (experiment ``monitoring/<model>``, ``DriftMonitorOperator``):
  ``mlops.model``, ``mlops.model_version``, ``mlops.window``, ``mlops.reason`` and
  ``mlops.report_uri`` (the drift report).
- Read by the MLOps page when present, written by no task today: ``mlops.data_docs_uri``.

The fingerprint of a training run is the sha256 of the canonical JSON of what determines the
model: the data (DVC md5), the training image's content digest, the training params, the model
code's fingerprint and the pipeline repository's commit. A registered
version with the same fingerprint means retraining would reproduce it, so training is skipped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from airflow_mlops.errors import ConfigError

TAG_PREFIX = "mlops."
CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous"
#: registration run, registered model and monitoring run: the model's name
MODEL_TAG = TAG_PREFIX + "model"
#: registration run: the MLflow logged-model id
MODEL_ID_TAG = TAG_PREFIX + "model_id"
#: model version: the sha256 of its ONNX file
ONNX_SHA256_TAG = TAG_PREFIX + "onnx_sha256"
#: model version: the gate's decision, its reasons (JSON list) and report; monitoring run: report
GATE_DECISION_TAG = TAG_PREFIX + "gate_decision"
GATE_REASONS_TAG = TAG_PREFIX + "gate_reasons"
REPORT_TAG = TAG_PREFIX + "report_uri"
#: model version, by the gate: the holdout it was judged on (rule as JSON, md5, row count)
SPLIT_RULE_TAG = TAG_PREFIX + "split_rule"
HOLDOUT_MD5_TAG = TAG_PREFIX + "holdout_md5"
HOLDOUT_ROWS_TAG = TAG_PREFIX + "holdout_rows"
#: model version: ``true`` once a rollback moved ``champion`` off it
ROLLED_BACK_TAG = TAG_PREFIX + "rolled_back"
#: registered model: the last rollback's move (JSON); the promotion lock's holder (JSON)
LAST_ROLLBACK_TAG = TAG_PREFIX + "last_rollback"
LOCK_TAG = TAG_PREFIX + "lock"
#: registered model: the versions that were champion, oldest first (JSON list); a rollback
#: pops the newest, so a second rollback goes further back
CHAMPION_HISTORY_TAG = TAG_PREFIX + "champion_history"
#: registered model: ``mlops.reserved.<fingerprint>`` = JSON of the CT run that will train it
RESERVATION_TAG_PREFIX = TAG_PREFIX + "reserved."
#: model version, by the gate: the clean serving runtime's smoke test and load test (JSON)
INFRA_BLESSING_TAG = TAG_PREFIX + "infra_blessing"
#: monitoring run: the version watched, the data window and why the run happened
MODEL_VERSION_TAG = TAG_PREFIX + "model_version"
WINDOW_TAG = TAG_PREFIX + "window"
REASON_TAG = TAG_PREFIX + "reason"
#: model version or its run: Great Expectations data docs (read by the MLOps page)
DATA_DOCS_TAG = TAG_PREFIX + "data_docs_uri"
#: the environment variable a deployment sets to the pipeline's commit (no git checkout needed)
GIT_SHA_ENV = "AIRFLOW_MLOPS_GIT_SHA"
UNKNOWN = "unknown"


def canonical_json(payload: Any) -> str:
    """Key-sorted, whitespace-free JSON; NaN, infinities and non-JSON values are refused."""
    try:
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"Cannot encode {payload!r} as canonical JSON: {error}",
            hint="Use only strings, numbers (finite), booleans, None, lists and dicts with "
            "string keys in training params.",
        ) from error


def fingerprint(
    data_md5: str,
    image_digest: str,
    params: Mapping[str, Any],
    *,
    model_code: str | None = None,
    git_sha: str | None = None,
) -> str:
    """The CT fingerprint: sha256 hex of ``{"data_md5", "image_digest", "params"}`` plus
    ``model_code`` and ``git_sha`` when given (left out when None, so fingerprints made before
    these inputs existed stay the same).

    :param data_md5: the DVC md5 of the training data.
    :param image_digest: the content digest of the training image (``sha256:...``), not its tag:
        a rebuilt image under the same tag must change the fingerprint.
    :param params: the training params (JSON-able).
    :param model_code: the model code's fingerprint
        (:func:`airflow_mlops.training.code.model_code_fingerprint`).
    :param git_sha: the commit of the user's pipeline repository (:func:`pipeline_git_sha`).
    :raises ConfigError: the md5 or digest is empty, or the params are not JSON-able.
    """
    for name, value in (("data_md5", data_md5), ("image_digest", image_digest)):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"Cannot compute the CT fingerprint: {name}={value!r} is empty.",
                hint=f"Pass the {name} of this run (DVC pull result / training image digest).",
            )
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"Cannot compute the CT fingerprint: params must be a dict, got {params!r}.",
            hint="Pass the training params as a dict.",
        )
    payload = {"data_md5": data_md5.strip(), "image_digest": image_digest.strip(), "params": params}
    optional = {"model_code": model_code, "git_sha": git_sha}
    payload.update({key: value for key, value in optional.items() if value is not None})
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def pipeline_git_sha(path: str | os.PathLike[str] | None = None) -> str:
    """The commit of the user's pipeline repository (the one holding the DAG file and config).

    ``$AIRFLOW_MLOPS_GIT_SHA`` when set (a deployment without a git checkout), else
    ``git rev-parse HEAD`` in the repository containing ``path`` (a DAG file or any directory
    inside the repository), with ``+dirty`` for uncommitted changes, else ``"unknown"``.

    :param path: the DAG file or the pipeline repository; pass it: None falls back to this
        library's own directory, which is the pipeline repository only for the shipped DAGs.
    """
    from_env = os.environ.get(GIT_SHA_ENV, "").strip()
    if from_env:
        return from_env
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    if where.is_file():
        where = where.parent
    try:
        sha = _git(where, "rev-parse", "HEAD")
        dirty = _git(where, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return f"{sha}+dirty" if dirty else sha


def _git(where: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(where), *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return done.stdout.strip()


def _text(value: Any) -> str:
    """A tag value: strings as they are, floats shortest-exact, other values as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return canonical_json(value)


@dataclass(frozen=True)
class Lineage:
    """Everything a model version records about how it was made (the lineage contract: this
    module's docstring and "Lineage tags and aliases" in docs/architecture.md).

    Every field is optional; unset fields are left out of the tags.
    """

    dataset: str | None = None
    data_rev: str | None = None
    data_commit: str | None = None
    data_md5: str | None = None
    git_sha: str | None = None
    image_digest: str | None = None
    model_code: str | None = None
    validation_outcome: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    trigger: str | None = None
    fingerprint: str | None = None
    params: Mapping[str, Any] | None = None
    parity_max_abs: float | None = None
    latency_p50_ms_b1: float | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Lineage:
        """Build from a dict (e.g. a templated operator argument); unknown keys are refused."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"Unknown lineage keys {unknown}.",
                hint=f"Use only {sorted(known)}.",
            )
        return cls(**dict(values))

    def tags(self) -> dict[str, str]:
        """The ``mlops.<field>`` tags of the set fields (``params`` as canonical JSON)."""
        return {
            TAG_PREFIX + key: _text(value)
            for key, value in asdict(self).items()
            if value is not None and value != ""
        }

    def identity(self) -> dict[str, str]:
        """The tags that identify one registration attempt: DAG id, run id, fingerprint.

        A retry of the same task has the same identity, so it finds the version it made.
        """
        if not self.run_id:
            raise ConfigError(
                "Cannot register idempotently without lineage run_id.",
                hint="Pass the Airflow run id (the operator does this) or any unique run key.",
            )
        keys = [DAG_ID_TAG, RUN_ID_TAG, FINGERPRINT_TAG]
        tags = self.tags()
        return {key: tags[key] for key in keys if key in tags}


#: the :class:`Lineage` fields, each a version tag ``mlops.<field>``
LINEAGE_KEYS = tuple(field.name for field in fields(Lineage))


def lineage_tag(key: str) -> str:
    """The tag of :class:`Lineage` field ``key``.

    :raises ValueError: ``key`` is not a field (a typo in the pipeline's own code).
    """
    if key not in LINEAGE_KEYS:
        raise ValueError(f"{key!r} is not a Lineage field; use one of {LINEAGE_KEYS}.")
    return TAG_PREFIX + key


DATASET_TAG = lineage_tag("dataset")
DATA_REV_TAG = lineage_tag("data_rev")
DATA_COMMIT_TAG = lineage_tag("data_commit")
DAG_ID_TAG = lineage_tag("dag_id")
RUN_ID_TAG = lineage_tag("run_id")
TRIGGER_TAG = lineage_tag("trigger")
FINGERPRINT_TAG = lineage_tag("fingerprint")
PARAMS_TAG = lineage_tag("params")
