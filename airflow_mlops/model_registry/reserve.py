"""Reserve a CT fingerprint in the registry before training, so one fingerprint gives at most
one version across every DAG of a model (``max_active_runs`` serialises one DAG only).

The reservation is a registered-model tag ``mlops.reserved.<fingerprint>`` holding the CT run
that will train it (JSON ``{"owner", "group", "since"}``), written by a compare-and-set under the
model's promotion lock (:func:`~airflow_mlops.model_registry.promote.champion_lock`). Under the
lock, a version already registered with the fingerprint wins over any reservation. The
registration deletes the tag once its version exists; a reservation whose run died before
registering expires after ``stale_after_s``; the same owner (a retry of the same CT run)
always gets its own reservation back, and an owner of the same ``group`` (another run of a DAG
that runs one at a time) takes it over, as that run has ended.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from airflow_mlops.lineage import RESERVATION_TAG_PREFIX
from airflow_mlops.model_registry.client import (
    find_trained_version,
    mlflow_client,
    registry_call,
)
from airflow_mlops.model_registry.promote import champion_lock, is_stale

#: a reservation older than this (seconds) is taken over: its run died before registering
STALE_AFTER_S = 6 * 3600.0


@dataclass(frozen=True)
class Reservation:
    """The answer of :func:`reserve_fingerprint`.

    :param granted: the caller holds the reservation and should train.
    :param version: the version already registered with the fingerprint (then not granted).
    :param holder: the other run's reservation (``{"owner", "group", "since"}``) when not
        granted and no version exists yet.
    """

    fingerprint: str
    granted: bool
    version: str | None = None
    holder: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "granted": self.granted,
            "version": self.version,
            "holder": self.holder,
        }


def reservation_tag(fingerprint: str) -> str:
    """The registered-model tag that reserves ``fingerprint``."""
    return RESERVATION_TAG_PREFIX + fingerprint


def reserve_fingerprint(
    tracking_uri: str,
    name: str,
    fingerprint: str,
    *,
    owner: str,
    group: str | None = None,
    stale_after_s: float = STALE_AFTER_S,
    lock_timeout_s: float = 60.0,
) -> Reservation:
    """Reserve ``fingerprint`` of model ``name`` for ``owner`` (a CT run: ``dag_id/run_id``).

    :param group: owners whose runs never overlap (one DAG with ``max_active_runs=1``): a
        holder of the same group has ended, and its reservation is taken over.

    :returns: granted; or the version that already has the fingerprint; or the live holder.
    :raises RegistryError: MLflow refused or could not be reached.
    :raises PromotionConflictError: the model's lock stayed busy for ``lock_timeout_s``.
    """
    from airflow_mlops.model_registry.register import ensure_registered_model

    client = mlflow_client(tracking_uri)
    ensure_registered_model(client, tracking_uri, name)
    tag = reservation_tag(fingerprint)
    with champion_lock(tracking_uri, name, timeout_s=lock_timeout_s):
        version = find_trained_version(tracking_uri, name, fingerprint)
        if version is not None:
            return Reservation(fingerprint, granted=False, version=version)
        holder = _holder(client, tracking_uri, name, tag)
        if holder and not _taken_over(holder, owner, group, stale_after_s):
            return Reservation(fingerprint, granted=False, holder=holder)
        mine = json.dumps({"owner": owner, "group": group, "since": time.time()})
        registry_call(
            f"reserve fingerprint {fingerprint} of {name!r}",
            tracking_uri,
            lambda: client.set_registered_model_tag(name, tag, mine),
        )
    return Reservation(fingerprint, granted=True)


def release_fingerprint(client: Any, tracking_uri: str, name: str, fingerprint: str) -> None:
    """Delete the reservation of ``fingerprint`` (its version is registered now)."""
    from mlflow.exceptions import RestException

    def delete() -> None:
        try:
            client.delete_registered_model_tag(name, reservation_tag(fingerprint))
        except RestException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise

    registry_call(f"release fingerprint {fingerprint} of {name!r}", tracking_uri, delete)


def _holder(client: Any, tracking_uri: str, name: str, tag: str) -> dict[str, Any] | None:
    model = registry_call(
        f"read registered model {name!r}", tracking_uri, lambda: client.get_registered_model(name)
    )
    text = model.tags.get(tag)
    if text is None:
        return None
    try:
        held = json.loads(text)
    except ValueError:
        return {}
    return held if isinstance(held, dict) else {}


def _taken_over(
    holder: dict[str, Any], owner: str, group: str | None, stale_after_s: float
) -> bool:
    """Whether ``owner`` may replace ``holder``: its own, of its group, or stale."""
    if holder.get("owner") == owner or (group is not None and holder.get("group") == group):
        return True
    return is_stale(holder, stale_after_s)
