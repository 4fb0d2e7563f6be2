"""Move the ``champion`` alias safely: compare-and-set under a registry lock, and roll back
to any earlier champion (the champion history, a registered-model tag).

MLflow has no conditional alias update, but creating a registered model is atomic (its name is
unique), so a short-lived model ``<name>.promotion-lock`` serves as a mutex that every
promotion and rollback of ``<name>`` holds while it re-reads and moves the aliases. A lock whose
holder died is broken: at once when the holder was a process of this host, else when it is older
than ``stale_after_s``. A holder releases only its own lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airflow_mlops.errors import PromotionConflictError, RegistryError
from airflow_mlops.lineage import (
    CHAMPION,
    CHAMPION_HISTORY_TAG,
    LAST_ROLLBACK_TAG,
    LOCK_TAG,
    PREVIOUS,
    ROLLED_BACK_TAG,
)
from airflow_mlops.model_registry.client import alias_version, mlflow_client, registry_call
from airflow_mlops.owners import is_dead

LOCK_SUFFIX = ".promotion-lock"
#: champion history entries kept on the registered model
HISTORY_LENGTH = 100


@dataclass(frozen=True)
class AliasMove:
    """Where ``champion`` and ``previous`` point after a promotion or rollback.

    :param already: True when a retry found the move already done (nothing changed).
    """

    name: str
    champion: str
    previous: str | None
    moved_from: str | None
    already: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "champion": self.champion,
            "previous": self.previous,
            "moved_from": self.moved_from,
            "already": self.already,
        }


def lock_name(name: str) -> str:
    """The registered model used as the promotion lock of model ``name``."""
    return f"{name}{LOCK_SUFFIX}"


@contextlib.contextmanager
def champion_lock(
    tracking_uri: str, name: str, *, timeout_s: float = 60.0, stale_after_s: float = 300.0
) -> Iterator[None]:
    """Hold the promotion lock of ``name`` for the block.

    :raises PromotionConflictError: another promotion held it for longer than ``timeout_s``.
    """
    from mlflow.exceptions import RestException

    client = mlflow_client(tracking_uri)
    lock = lock_name(name)
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + timeout_s

    def try_acquire() -> bool:
        try:
            client.create_registered_model(
                lock,
                tags={LOCK_TAG: json.dumps({"owner": owner, "since": time.time()})},
                description=f"Held while the champion alias of {name!r} moves; safe to delete "
                "when no promotion runs.",
            )
            return True
        except RestException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        held = _lock_holder(client, lock)
        if held is not None and held.get("owner") == owner:
            return True  # this call made it: the answer was lost and the client retried
        if held is not None and _holder_is_gone(held, stale_after_s):
            _break_lock(client, lock, held)
        return False

    while not registry_call(f"take the promotion lock {lock!r}", tracking_uri, try_acquire):
        if time.monotonic() > deadline:
            raise PromotionConflictError(
                f"The promotion lock {lock!r} stayed busy for {timeout_s:.0f} s "
                f"(holder: {_describe_holder(client, lock)}).",
                hint="Another promotion or rollback of this model is running; retry later. If "
                f"none is, delete the registered model {lock!r}.",
            )
        time.sleep(0.2)
    try:
        yield
    finally:
        release = f"release the promotion lock {lock!r}"
        registry_call(release, tracking_uri, lambda: _release(client, lock, owner))


def _lock_holder(client: Any, lock: str) -> dict[str, Any] | None:
    from mlflow.exceptions import RestException

    try:
        model = client.get_registered_model(lock)
    except RestException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    try:
        return json.loads(model.tags.get(LOCK_TAG, "{}"))
    except ValueError:
        return {}


def _holder_is_gone(held: dict[str, Any], stale_after_s: float) -> bool:
    """The holder's process of this host has died, or the lock is older than allowed."""
    host, _, rest = str(held.get("owner", "")).partition(":")
    pid = rest.partition(":")[0]
    if pid.isdigit() and is_dead(host, int(pid)):
        return True
    return is_stale(held, stale_after_s)


def is_stale(held: dict[str, Any], stale_after_s: float) -> bool:
    """Whether a lock or reservation (``{"since": epoch seconds}``) is older than allowed; a
    hand-made or damaged one counts as old as can be."""
    try:
        since = float(held.get("since", 0))
    except (TypeError, ValueError):
        since = 0.0
    return time.time() - since > stale_after_s


def _break_lock(client: Any, lock: str, held: dict[str, Any]) -> None:
    """Delete a dead holder's lock, unless another waiter already replaced it meanwhile."""
    if _lock_holder(client, lock) == held:
        _delete_model(client, lock)


def _release(client: Any, lock: str, owner: str) -> None:
    """Delete the lock if ``owner`` still holds it (after a takeover it belongs to another)."""
    held = _lock_holder(client, lock)
    if held is not None and held.get("owner") in (owner, None):
        _delete_model(client, lock)


def _describe_holder(client: Any, lock: str) -> str:
    with contextlib.suppress(Exception):
        return json.dumps(_lock_holder(client, lock))
    return "unknown"


def _delete_model(client: Any, lock: str) -> None:
    from mlflow.exceptions import RestException

    try:
        client.delete_registered_model(lock)
    except RestException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise


def _set_alias(client: Any, tracking_uri: str, name: str, alias: str, version: str) -> None:
    registry_call(
        f"point alias {alias!r} of {name!r} at version {version}",
        tracking_uri,
        lambda: client.set_registered_model_alias(name, alias, version),
    )


def promote(
    tracking_uri: str,
    name: str,
    version: str,
    *,
    expected_champion: str | None,
    lock_timeout_s: float = 60.0,
) -> AliasMove:
    """Point ``champion`` at ``version`` if it still points at ``expected_champion``.

    The former champion becomes ``previous``. Promoting the version that already is champion
    is a no-op (``already=True``), so a retried task changes nothing.

    :param expected_champion: the champion the decision was made against (None: no champion).
    :raises PromotionConflictError: the champion moved since the decision.
    """
    client = mlflow_client(tracking_uri)
    version = str(version)
    with champion_lock(tracking_uri, name, timeout_s=lock_timeout_s):
        current = alias_version(tracking_uri, name, CHAMPION)
        if current == version:
            previous = alias_version(tracking_uri, name, PREVIOUS)
            return AliasMove(name, version, previous, None, already=True)
        if current != (str(expected_champion) if expected_champion is not None else None):
            raise PromotionConflictError(
                f"Champion of {name!r} is now version {current}, not version "
                f"{expected_champion} that challenger v{version} was evaluated against; "
                "nothing was moved.",
                hint="Another run promoted meanwhile. Re-run the evaluation against the new "
                "champion (clear this task) if the challenger should still compete.",
                details={"expected": expected_champion, "actual": current, "version": version},
            )
        _record_promotion(client, tracking_uri, name, version)
        if current is not None:
            _set_alias(client, tracking_uri, name, PREVIOUS, current)
        _set_alias(client, tracking_uri, name, CHAMPION, version)
    return AliasMove(name, version, current, current)


def rollback(
    tracking_uri: str,
    name: str,
    *,
    to_version: str | None = None,
    expected_champion: str | None = None,
    request_id: str | None = None,
    lock_timeout_s: float = 60.0,
) -> AliasMove:
    """Point ``champion`` back at an earlier champion (the champion history,
    :func:`champion_history`): the one before the current champion, or ``to_version``.

    The versions above the target leave the history and are tagged ``mlops.rolled_back``, so
    a second rollback goes further back. ``previous`` then names the champion before the
    target (deleted when there is none).

    :param to_version: roll back to this earlier champion (None: the one before the current).
    :param expected_champion: fail unless the champion is still this version.
    :param request_id: names one rollback (the operator passes its task instance): a retry of
        the request that already happened returns it again with ``already=True``.
    :raises RegistryError: the history has no earlier champion, or ``to_version`` never was
        champion before the current one.
    :raises PromotionConflictError: the champion is not ``expected_champion``.
    """
    client = mlflow_client(tracking_uri)
    with champion_lock(tracking_uri, name, timeout_s=lock_timeout_s):
        current = alias_version(tracking_uri, name, CHAMPION)
        last = _last_rollback(client, tracking_uri, name)
        retried = request_id is not None and last and last.get("request") == request_id
        if retried and last.get("to") == current:
            below = alias_version(tracking_uri, name, PREVIOUS)
            return AliasMove(name, current, below, last.get("from"), already=True)
        if expected_champion is not None and current != str(expected_champion):
            raise PromotionConflictError(
                f"Champion of {name!r} is version {current}, not {expected_champion}; "
                "nothing was rolled back.",
                hint="Check the model in the MLflow UI and roll back without an expected "
                "version if that is still wanted.",
                details={"expected": expected_champion, "actual": current},
            )
        history = champion_history(tracking_uri, name)
        earlier = history[:-1] if history and history[-1] == current else history
        target = str(to_version) if to_version is not None else (earlier[-1] if earlier else None)
        if target is None or target not in earlier:
            raise RegistryError(
                f"Model {name!r} has no earlier champion "
                + (f"version {to_version} " if to_version is not None else "")
                + f"to roll back to (champion: {current}; champion history: {history}).",
                hint="Roll back to one of the earlier champions listed, or point the champion "
                "alias at a chosen version in the MLflow UI.",
                details={"champion": current, "history": history, "to_version": to_version},
            )
        kept = earlier[: len(earlier) - earlier[::-1].index(target)]
        left = [v for v in history[len(kept) :] if v != target]
        _set_alias(client, tracking_uri, name, CHAMPION, target)
        below = kept[-2] if len(kept) > 1 else None
        if below is not None:
            _set_alias(client, tracking_uri, name, PREVIOUS, below)
        elif alias_version(tracking_uri, name, PREVIOUS) is not None:
            registry_call(
                f"clear alias 'previous' of {name!r}",
                tracking_uri,
                lambda: client.delete_registered_model_alias(name, PREVIOUS),
            )

        def record() -> None:
            move = {"from": current, "to": target, "at": time.time(), "request": request_id}
            client.set_registered_model_tag(name, LAST_ROLLBACK_TAG, json.dumps(move))
            client.set_registered_model_tag(name, CHAMPION_HISTORY_TAG, json.dumps(kept))
            for version in {*left, *([current] if current and current != target else [])}:
                client.set_model_version_tag(name, version, ROLLED_BACK_TAG, "true")

        registry_call(f"record the rollback of {name!r}", tracking_uri, record)
    return AliasMove(name, target, below, current)


def champion_history(tracking_uri: str, name: str) -> list[str]:
    """The versions of ``name`` that were champion, oldest first, without the rolled-back ones.

    Models promoted before the history was kept start from their aliases (``previous``,
    ``champion``).
    """
    client = mlflow_client(tracking_uri)
    model = registry_call(
        f"read registered model {name!r}", tracking_uri, lambda: client.get_registered_model(name)
    )
    try:
        history = json.loads(model.tags.get(CHAMPION_HISTORY_TAG, "null"))
    except ValueError:
        history = None
    if isinstance(history, list):
        return [str(v) for v in history]
    aliases = dict(getattr(model, "aliases", None) or {})
    return [str(aliases[a]) for a in (PREVIOUS, CHAMPION) if a in aliases]


def _record_promotion(client: Any, tracking_uri: str, name: str, version: str) -> None:
    """Append ``version`` to the champion history (the newest :data:`HISTORY_LENGTH` kept)."""
    history = champion_history(tracking_uri, name)
    history = [*history, version][-HISTORY_LENGTH:]
    registry_call(
        f"record the champion history of {name!r}",
        tracking_uri,
        lambda: client.set_registered_model_tag(name, CHAMPION_HISTORY_TAG, json.dumps(history)),
    )


def _last_rollback(client: Any, tracking_uri: str, name: str) -> dict[str, Any] | None:
    model = registry_call(
        f"read registered model {name!r}", tracking_uri, lambda: client.get_registered_model(name)
    )
    try:
        return json.loads(model.tags.get(LAST_ROLLBACK_TAG, "null"))
    except ValueError:
        return None
