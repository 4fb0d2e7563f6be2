"""The level-1 trigger policy and the rule that says which trigger started a CT run.

Five triggers start continuous training: a person (``manual``), the nightly ``schedule``, a new
data version (``new_data``), and monitoring's ``drift`` and ``performance`` events. The two
asset-driven kinds arrive as events whose extra carries ``reason`` (see
:mod:`airflow_mlops.assets`); the run records the strongest reason among its events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_mlops.assets import TRIGGER_REASONS
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
    """

    cron: str | None = "0 2 * * *"
    on_new_data: bool = True
    on_drift: bool = True
    on_performance_drop: bool = True

    def __post_init__(self) -> None:
        for name in ("on_new_data", "on_drift", "on_performance_drop"):
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

    @property
    def watches_drift_asset(self) -> bool:
        """Whether runs start from the monitoring asset (drift or performance)."""
        return self.on_drift or self.on_performance_drop

    @property
    def accepted_reasons(self) -> frozenset[str]:
        reasons = {"manual"}
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
    :param policy: when given, events whose reason the policy does not accept are ignored.
    """
    extras = [_unwrap(extra) for extra in event_extras]
    named = (conf or {}).get("trigger")
    if named is not None and named not in TRIGGER_REASONS:
        raise ConfigError(
            f"conf.trigger={named!r} is not a known trigger.",
            hint=f"Use one of {', '.join(TRIGGER_REASONS)}, or leave it out.",
        )
    if policy is not None:
        extras = [e for e in extras if e.get("reason") in policy.accepted_reasons]
    reasons = [e.get("reason") for e in extras]
    # the commit is immutable: a branch named in ``rev`` may have moved on since the event
    data_rev = next(
        (e.get("commit") or e["rev"] for e in reversed(extras) if e.get("commit") or e.get("rev")),
        None,
    )
    if named:
        return TriggerInfo(named, extras, data_rev)
    for reason in _PRIORITY:
        if reason in reasons:
            return TriggerInfo(reason, extras, data_rev)
    if run_type == "scheduled":
        return TriggerInfo("schedule", extras, data_rev)
    return TriggerInfo("manual", extras, data_rev)
