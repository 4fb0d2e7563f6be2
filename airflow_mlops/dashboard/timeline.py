"""The CT runs of a model as the page's timeline: per run its trigger, what came of it and why.

A plain function over what Airflow's metadata database holds for one DAG run (its fields, its
task instances' states, the return values of ``prepare_run``, ``check_fingerprint`` and
``evaluate_and_promote``); the plugin reads those (``plugins/api.py``), this module decides
what they mean. Outcomes:

- ``running``: the run is not finished;
- ``failed``: a task failed; the reason names the first one, the link opens its logs;
- ``skipped``: the fingerprint (data, code, image, params) is already registered, or another
  run holds it;
- ``accepted`` / ``rejected``: the gate's decision on the challenger, with its reasons;
- ``trained``: a version was registered but the gate did not decide (``promote`` off).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_mlops.ct.plan import FINGERPRINT, PREPARE, PROMOTE, REGISTER
from airflow_mlops.dashboard.links import LinkBuilder

#: the task return values a timeline row reads
TIMELINE_TASKS = (PREPARE, FINGERPRINT, REGISTER, PROMOTE)
#: DAG run states that are not final
UNFINISHED = frozenset({"queued", "running"})
#: the CT runs one timeline shows, newest first
TIMELINE_RUNS = 50


def ct_run_row(
    run: Mapping[str, Any],
    tasks: Sequence[Mapping[str, Any]],
    returns: Mapping[str, Any],
    links: LinkBuilder,
) -> dict[str, Any]:
    """One CT run of the timeline.

    :param run: ``dag_id``, ``run_id``, ``run_type``, ``state``, ``start_date``, ``end_date``
        (ISO strings or None).
    :param tasks: its task instances: ``task_id``, ``state``, ``start_date``.
    :param returns: task id -> return value, for the tasks of :data:`TIMELINE_TASKS` that
        pushed one.
    """
    prepared = returns.get(PREPARE) or {}
    outcome, reason, task, version = _outcome(run, tasks, returns)
    return {
        "dag_id": run["dag_id"],
        "run_id": run["run_id"],
        "run_type": run.get("run_type"),
        "trigger": prepared.get("trigger") or run.get("run_type"),
        "state": run.get("state"),
        "started": run.get("start_date"),
        "ended": run.get("end_date"),
        "outcome": outcome,
        "reason": reason,
        "version": version,
        "data_rev": prepared.get("data_rev"),
        "links": {
            "run": links.dag_run(run["dag_id"], run["run_id"]),
            "task": links.task(run["dag_id"], run["run_id"], task),
        },
    }


def _outcome(
    run: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]], returns: Mapping[str, Any]
) -> tuple[str, str, str | None, str | None]:
    """``(outcome, reason, task to link, version)``."""
    fingerprint = returns.get(FINGERPRINT) or {}
    registered = (returns.get(REGISTER) or {}).get("version") or fingerprint.get("version")
    failed = sorted(
        (t for t in tasks if t.get("state") == "failed"),
        key=lambda t: t.get("start_date") or "",
    )
    if failed:
        task = failed[0]["task_id"]
        return "failed", f"{task} failed: open its log for the error", task, registered
    if run.get("state") in UNFINISHED:
        active = [t["task_id"] for t in tasks if t.get("state") in ("running", "queued")]
        return "running", f"running {', '.join(active) or 'its next task'}", None, registered
    gate = returns.get(PROMOTE)
    if gate:
        reasons = "; ".join(str(r) for r in gate.get("reasons") or [])
        outcome = "accepted" if gate.get("accepted") else "rejected"
        return outcome, reasons or outcome, PROMOTE, str(gate.get("challenger_version"))
    if holder := fingerprint.get("reserved_by"):
        owner = holder.get("owner") if isinstance(holder, Mapping) else holder
        return "skipped", f"CT run {owner} is training the same fingerprint", FINGERPRINT, None
    if fingerprint.get("trained"):
        return (
            "skipped",
            f"already trained as version {registered} (same data, model code, image and params)",
            FINGERPRINT,
            registered,
        )
    if registered:
        return "trained", f"registered version {registered}; the gate did not run", None, registered
    if run.get("state") == "failed":
        return "failed", "the run failed before any task did (timed out or marked)", None, None
    return "skipped", "no task trained a model", None, None
