"""A CT run that failed at the gate is not skipped forever: the next run with the same
fingerprint resumes from the registered version (evaluates it again, trains nothing), and once
the gate is done with it, an unchanged run skips everything. The validation reference is left
unset, so it is chosen at run time (no champion yet: the registry's first tagged version)."""

from __future__ import annotations

import pytest

from airflow_mlops.lineage import GATE_DECISION_TAG

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SKIPPED_ON_RESUME = ("pull_reference", "validate_data", "train", "export_onnx", "register_model")


def test_a_run_failed_at_the_gate_resumes_from_its_registered_version(ct) -> None:
    broken = ct.run(
        ct.dag(validation_reference_rev=None, dataset={"segment_column": "no_such_column"})
    )
    assert broken.state == "failed" and broken.task_states["evaluate_and_promote"] == "failed"
    after_failure = ct.registry()
    assert list(after_failure.versions) == ["1"] and after_failure.champion is None
    assert GATE_DECISION_TAG not in after_failure.versions["1"]

    resumed = ct.run(ct.dag(validation_reference_rev=None))  # the slice column fixed
    assert resumed.state == "success", resumed
    assert {task: resumed.task_states[task] for task in SKIPPED_ON_RESUME} == dict.fromkeys(
        SKIPPED_ON_RESUME, "skipped"
    )
    assert resumed.task_states["evaluate_and_promote"] == "success"
    promoted = ct.registry()
    assert list(promoted.versions) == ["1"] and promoted.champion == "1"
    assert promoted.versions["1"][GATE_DECISION_TAG] == "accepted"

    unchanged = ct.run(ct.dag(validation_reference_rev=None))
    assert unchanged.state == "success"
    assert unchanged.task_states["evaluate_and_promote"] == "skipped"
    assert ct.registry() == promoted
