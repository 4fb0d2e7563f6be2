"""Data-arrival sensing for DVC registries: a deferrable sensor and two triggers.

- :class:`DvcDataVersionSensor` fires when a registry ref (tag or branch glob) points at a
  version of the dataset that the pipeline has not processed yet, and emits an event on the
  dataset's asset (``x-mlops://data/<dataset>``) with extra ``{"reason": "new_data", "dataset",
  "rev", "commit", "md5", "covered_md5s"}``. While it waits, :class:`DvcNewVersionTrigger`
  polls in the triggerer, not in a worker slot.
- :class:`DvcNewVersionEventTrigger` is the event-driven path: used in an ``AssetWatcher``,
  the triggerer itself creates the asset event (its extra is ``{"from_trigger": true,
  "payload": <the same dict>}``) and no sensor DAG is needed.

"Processed" lives in the asset's event history: a version counts as processed once an event
on the dataset's asset carries its md5 (in ``md5`` or ``covered_md5s``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseSensorOperator, PokeReturnValue
from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airflow_mlops.assets import data_asset_uri
from airflow_mlops.data.git_source import shown_url
from airflow_mlops.data.versions import DataVersion, list_versions, new_versions
from airflow_mlops.errors import MlopsError
from airflow_mlops.inputs import (
    check_git_source,
    check_path,
    check_pattern,
    check_relative_path,
    rule,
)
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.exceptions import DvcSensorError
from airflow_mlops.operators.secrets import MaskRegistryCredentials
from airflow_mlops.settings import MlopsHome

if TYPE_CHECKING:
    from airflow.sdk import Context


def default_mirrors_dir() -> str:
    """Where bare git mirrors of registries are kept: ``$AIRFLOW_MLOPS_HOME/git-mirrors``."""
    return str(MlopsHome.from_env().root / "git-mirrors")


def new_data_extra(dataset: str, versions: Sequence[DataVersion]) -> dict[str, Any]:
    """The asset event extra for the newest of ``versions`` (which it also marks processed)."""
    newest = versions[-1]
    return {
        "reason": "new_data",
        "dataset": dataset,
        "rev": newest.rev,
        "commit": newest.commit,
        "md5": newest.md5,
        "covered_md5s": sorted({v.md5 for v in versions}),
    }


def processed_md5s(extras: Iterable[dict[str, Any]]) -> set[str]:
    """The md5s that earlier asset events (sensor or watcher ones) marked processed."""
    seen: set[str] = set()
    for extra in extras:
        payload = extra.get("payload", extra) if extra.get("from_trigger") else extra
        seen.update(payload.get("covered_md5s", []))
        if payload.get("md5"):
            seen.add(payload["md5"])
    return seen


class _VersionPoller:
    """The shared poll of the two triggers: list the versions, keep those not seen yet."""

    def __init__(
        self, registry: str, target: str, refs: str, mirrors_dir: str, poke_interval: float
    ) -> None:
        self.registry = registry
        self.target = target
        self.refs = refs
        self.mirrors_dir = mirrors_dir
        self.poke_interval = poke_interval

    def kwargs(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "target": self.target,
            "refs": self.refs,
            "mirrors_dir": self.mirrors_dir,
            "poke_interval": self.poke_interval,
        }

    async def new(self, seen: set[str]) -> list[DataVersion]:
        versions = await asyncio.to_thread(
            list_versions, self.registry, self.target, refs=self.refs, mirrors_dir=self.mirrors_dir
        )
        return new_versions(versions, seen)


class DvcNewVersionTrigger(BaseTrigger):
    """Wait until a version of ``target`` whose md5 is not in ``processed`` appears.

    Yields one event ``{"status": "success", "versions": [...]}`` (oldest first), or
    ``{"status": "error", "message": ...}`` when the registry cannot be listed.

    :param registry: the data registry: git URL or local repository path.
    :param target: the tracked path, e.g. ``data/train.csv``.
    :param refs: glob over full ref names, e.g. ``refs/tags/v*`` or ``refs/heads/main``.
    :param processed: md5s already processed.
    :param mirrors_dir: where the bare git mirror of the registry is kept.
    :param poke_interval: seconds between polls.
    """

    def __init__(
        self,
        *,
        registry: str,
        target: str,
        refs: str,
        processed: list[str],
        mirrors_dir: str,
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.poller = _VersionPoller(registry, target, refs, mirrors_dir, poke_interval)
        self.processed = list(processed)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {**self.poller.kwargs(), "processed": self.processed},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            try:
                found = await self.poller.new(set(self.processed))
            except MlopsError as error:
                yield TriggerEvent({"status": "error", "message": str(error)})
                return
            if found:
                yield TriggerEvent({"status": "success", "versions": [v.as_dict() for v in found]})
                return
            await asyncio.sleep(self.poller.poke_interval)


class DvcNewVersionEventTrigger(BaseEventTrigger):
    """For ``AssetWatcher``: one event per new version of ``target``, for as long as it runs.

    The versions present when the trigger starts are the baseline (not events); every version
    that appears later yields ``{"reason": "new_data", "dataset", "rev", "commit", "md5",
    "covered_md5s"}``. Listing errors are logged and retried at the next poll.

    :param dataset: the dataset name put in the event payload.
    :param registry: the data registry: git URL or local repository path.
    :param target: the tracked path, e.g. ``data/train.csv``.
    :param refs: glob over full ref names, e.g. ``refs/tags/v*``.
    :param mirrors_dir: where the bare git mirror is kept; default under the MLOps home.
    :param poke_interval: seconds between polls.
    """

    def __init__(
        self,
        *,
        dataset: str,
        registry: str,
        target: str,
        refs: str = "refs/tags/*",
        mirrors_dir: str | None = None,
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__()
        self.dataset = dataset
        self.poller = _VersionPoller(
            registry, target, refs, mirrors_dir or default_mirrors_dir(), poke_interval
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {**self.poller.kwargs(), "dataset": self.dataset},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        seen: set[str] | None = None
        while True:
            try:
                found = await self.poller.new(seen or set())
            except MlopsError as error:
                registry = shown_url(self.poller.registry)
                self.log.warning("Cannot list versions of %s: %s", registry, error)
                found = []
            if seen is None:
                seen = {v.md5 for v in found}
            else:
                for version in found:
                    seen.add(version.md5)
                    yield TriggerEvent(new_data_extra(self.dataset, [version]))
            await asyncio.sleep(self.poller.poke_interval)


class DvcDataVersionSensor(MaskRegistryCredentials, BaseSensorOperator):
    """Wait for a version of a DVC-tracked dataset that the pipeline has not processed yet.

    On success it emits an event on ``x-mlops://data/<dataset>`` (this task's outlet) whose extra
    is ``{"reason": "new_data", "dataset", "rev", "commit", "md5", "covered_md5s"}`` and
    returns the same dict to XCom. When several versions are new, the newest is reported and
    all of them are marked processed. The processed md5s are read from this asset's event
    history (the asset is also this task's inlet); override :meth:`processed_versions` to keep
    them elsewhere.

    :param registry: the data registry: git URL or local repository path. (templated)
    :param target: the path tracked with ``dvc add``, e.g. ``data/train.csv``. (templated)
    :param refs: glob over full git ref names: ``refs/tags/v*`` (tags starting with v),
        ``refs/heads/main`` (each new commit of main). (templated)
    :param dataset: the dataset name in the asset URI; default the target's file stem.
    :param mirrors_dir: where the bare git mirror is kept; default
        ``$AIRFLOW_MLOPS_HOME/git-mirrors``.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    """

    template_fields: Sequence[str] = ("registry", "target", "refs")
    ui_color = "#b0a4e3"
    argument_rules = {
        "registry": check_git_source,
        "target": check_relative_path,
        "refs": rule(
            check_pattern,
            r"^refs/[A-Za-z0-9._/*?\[\]-]{1,200}$(?!\n)",
            "must be a glob over full ref names, e.g. 'refs/tags/v*' or 'refs/heads/main'",
        ),
        "dataset": rule(
            check_pattern,
            r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$(?!\n)",
            "must be up to 100 letters, digits, '_', '.', '-', starting with a letter or digit",
        ),
        "mirrors_dir": rule(check_path, allow_none=True),
    }

    def __init__(
        self,
        *,
        registry: str,
        target: str,
        refs: str = "refs/tags/*",
        dataset: str | None = None,
        mirrors_dir: str | None = None,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        outlets, inlets = kwargs.pop("outlets", None), kwargs.pop("inlets", None)
        super().__init__(**kwargs)
        self.dataset = dataset or PurePosixPath(str(target)).name.split(".")[0]
        self.registry = registry
        self.target = target
        self.refs = refs
        self.mirrors_dir = mirrors_dir
        self.deferrable = deferrable
        check_arguments(self, self.argument_rules, rendered=False)
        self.asset = Asset(data_asset_uri(self.dataset))
        self.outlets = [self.asset] if outlets is None else outlets
        self.inlets = [self.asset] if inlets is None else inlets

    def processed_versions(self, context: Context) -> set[str]:
        """md5s already processed: those in earlier events of this dataset's asset."""
        events = context["inlet_events"][self.asset]
        return processed_md5s(event.extra or {} for event in events)

    def _mirrors(self) -> str:
        return self.mirrors_dir or default_mirrors_dir()

    def _new(self, context: Context) -> tuple[set[str], list[DataVersion]]:
        processed = self.processed_versions(context)
        try:
            versions = list_versions(
                self.registry, self.target, refs=self.refs, mirrors_dir=Path(self._mirrors())
            )
        except MlopsError as error:
            raise DvcSensorError.from_core(error) from error
        return processed, new_versions(versions, processed)

    def _emit(self, context: Context, versions: Sequence[DataVersion]) -> dict[str, Any]:
        extra = new_data_extra(self.dataset, versions)
        context["outlet_events"][self.asset].extra = extra
        self.log.info("New version of %s: %s", self.dataset, extra)
        return extra

    def poke(self, context: Context) -> PokeReturnValue:
        _, found = self._new(context)
        return PokeReturnValue(bool(found), self._emit(context, found) if found else None)

    def execute(self, context: Context) -> Any:
        check_arguments(self, self.argument_rules, rendered=True)
        if not self.deferrable:
            return super().execute(context)
        processed, found = self._new(context)
        if found:
            return self._emit(context, found)
        self.defer(
            trigger=DvcNewVersionTrigger(
                registry=self.registry,
                target=self.target,
                refs=self.refs,
                processed=sorted(processed),
                mirrors_dir=self._mirrors(),
                poke_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger fired: emit the asset event, or fail with its message."""
        if event.get("status") != "success":
            raise DvcSensorError(event.get("message", f"Trigger failed: {event}"))
        return self._emit(context, [DataVersion(**v) for v in event["versions"]])
