"""The level-1 trigger policy and the rule that says which trigger started a CT run.

Five triggers start continuous training: a person (``manual``), the nightly ``schedule``, a new
data version (``new_data``), and monitoring's ``drift`` and ``performance`` events. The
asset-driven kinds arrive as events on their own assets (see :mod:`airflow_mlops.assets`), whose
extra carries ``reason``; the run records the strongest reason among its events.

Each switch does what it says: a switched-off cron or asset is not in the DAG's schedule
(:meth:`TriggerPolicy.assets`), so it never starts a run; a run that still names a switched-off
trigger (a person with ``manual`` off, a stale event) is refused by :func:`classify_trigger`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_mlops.assets import (
    TRIGGER_REASONS,
    data_asset_uri,
    drift_asset_uri,
    performance_asset_uri,
)
from airflow_mlops.errors import ConfigError
from airflow_mlops.inputs import check_bool

#: the characters of a five-field cron expression (digits, names, ``* , - / ?``, spaces)
_CRON_CHARS = frozenset("0123456789*,-/? ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
#: when several events started one run, the reason reported first
_PRIORITY = ("performance", "drift", "new_data")


@dataclass(frozen=True)
class TriggerPolicy:
    """Which of the five triggers start CT for one model.

    :param cron: the nightly schedule (cron, in UTC), or None for no schedule.
    :param on_new_data: start a run when a new dataset version arrives.
    :param on_drift: start a run when monitoring reports data drift.
    :param on_performance_drop: start a run when monitoring reports a performance drop.
    :param on_manual: let a person start a run (from the UI, the CLI or the REST API).
    """

    cron: str | None = "0 2 * * *"
    on_new_data: bool = True
    on_drift: bool = True
    on_performance_drop: bool = True
    on_manual: bool = True

    def __post_init__(self) -> None:
        for name in ("on_new_data", "on_drift", "on_performance_drop", "on_manual"):
            check_bool(f"TriggerPolicy.{name}", getattr(self, name))
        if self.cron is not None and (
            not isinstance(self.cron, str)
            or len(self.cron.split()) != 5
            or not set(self.cron) <= _CRON_CHARS
        ):
            raise ConfigError(
                f"TriggerPolicy.cron={self.cron!r} is not a five-field cron expression.",
                hint='Use e.g. "0 2 * * *" (02:00 UTC every night), or None for no schedule.',
            )

    def assets(self, dataset: str, model: str) -> tuple[str, ...]:
        """The URIs of the assets the CT DAG is scheduled on: only the switched-on triggers'.

        :param dataset: the dataset whose new versions start runs (``on_new_data``).
        :param model: the model whose monitoring events start runs (``on_drift``,
            ``on_performance_drop``).
        """
        switched = (
            (self.on_new_data, data_asset_uri(dataset)),
            (self.on_drift, drift_asset_uri(model)),
            (self.on_performance_drop, performance_asset_uri(model)),
        )
        return tuple(uri for on, uri in switched if on)

    @property
    def accepted_reasons(self) -> frozenset[str]:
        """The reasons a run may start for: the switched-on triggers."""
        reasons = set()
        if self.on_manual:
            reasons.add("manual")
        if self.cron:
            reasons.add("schedule")
        if self.on_new_data:
            reasons.add("new_data")
        if self.on_drift:
            reasons.add("drift")
        if self.on_performance_drop:
            reasons.add("performance")
        return frozenset(reasons)


@dataclass(frozen=True)
class TriggerInfo:
    """Why one CT run started, and the data revision its events asked for (if any)."""

    reason: str
    events: list[dict[str, Any]] = field(default_factory=list)
    data_rev: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "events": self.events, "data_rev": self.data_rev}


def _unwrap(extra: Mapping[str, Any]) -> dict[str, Any]:
    """An event's own fields: AssetWatcher events nest them under ``payload``."""
    if extra.get("from_trigger") and isinstance(extra.get("payload"), Mapping):
        return dict(extra["payload"])
    return dict(extra)


def classify_trigger(
    run_type: str,
    conf: Mapping[str, Any] | None,
    event_extras: Iterable[Mapping[str, Any]],
    policy: TriggerPolicy | None = None,
) -> TriggerInfo:
    """Decide which of the five triggers started a run.

    :param run_type: Airflow's ``dag_run.run_type`` (manual, scheduled, asset_triggered, ...).
    :param conf: the run's conf; ``{"trigger": reason}`` lets a caller name the reason.
    :param event_extras: extras of the asset events that triggered the run.
    :param policy: when given, events whose reason the policy does not accept are ignored, and
        a run left with only switched-off reasons is refused.
    :raises ConfigError: an unknown ``conf.trigger``, or a run started by a switched-off trigger.
    """
    received = [_unwrap(extra) for extra in event_extras]
    named = (conf or {}).get("trigger")
    if named is not None and named not in TRIGGER_REASONS:
        raise ConfigError(
            f"conf.trigger={named!r} is not a known trigger.",
            hint=f"Use one of {', '.join(TRIGGER_REASONS)}, or leave it out.",
        )
    extras = received
    if policy is not None:
        extras = [e for e in received if e.get("reason") in policy.accepted_reasons]
    reasons = [e.get("reason") for e in extras]
    # the commit is immutable: a branch named in ``rev`` may have moved on since the event
    data_rev = next(
        (e.get("commit") or e["rev"] for e in reversed(extras) if e.get("commit") or e.get("rev")),
        None,
    )
    reason = named or next((r for r in _PRIORITY if r in reasons), None)
    if reason is None:
        reason = {"scheduled": "schedule", "asset_triggered": None}.get(run_type, "manual")
    if policy is not None and reason not in policy.accepted_reasons:
        started_by = reason or sorted({str(e.get("reason")) for e in received})
        raise ConfigError(
            f"This run was started by {started_by!r}, a trigger switched off in the policy "
            f"(switched on: {', '.join(sorted(policy.accepted_reasons)) or 'none'}).",
            hint="Switch it on in the pipeline config's TriggerPolicy, or start the run with a "
            "trigger that is on.",
        )
    return TriggerInfo(reason or "manual", extras, data_rev)
