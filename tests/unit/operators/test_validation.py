"""ValidateDataOperator: suite sources, outcome policy, XCom result, failure message, extra link."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.errors import ConfigError
from airflow_mlops.operators.exceptions import InvalidInputError
from airflow_mlops.operators.validation import (
    DOCS_KEY,
    RESULT_KEY,
    DataValidationFailed,
    ValidateDataOperator,
)
from airflow_mlops.plugins.links import DataDocsLink
from tests.support.corpus import build_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def reference_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.corpus import reference_frame

    path = tmp_path_factory.mktemp("reference") / "reference.csv"
    reference_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def validate_context(task_context) -> dict[str, Any]:
    """The context of one ``validate`` task instance; ``ti.pushed`` records its XComs."""
    return task_context("validate")


def _operator(tmp_path: Path, **kwargs: Any) -> ValidateDataOperator:
    return ValidateDataOperator(task_id="validate", artifact_root=str(tmp_path), **kwargs)


def test_learns_a_reviewable_suite_and_passes_clean_data(
    tmp_path: Path, corpus: dict[str, Path], reference_csv: Path, validate_context: dict[str, Any]
) -> None:
    suite_path = tmp_path / "suites" / "cancer.json"
    operator = _operator(
        tmp_path,
        dataset=str(corpus["clean"]),
        reference=str(reference_csv),
        learned_suite_path=str(suite_path),
        label_column="malignant",
    )
    result = operator.execute(validate_context)
    assert result["success"] is True
    assert result["outcome"] == "pass"
    assert result["failed"] == []
    assert result["suite_uri"] == suite_path.resolve().as_uri()
    learned = json.loads(suite_path.read_text())
    assert {e["type"] for e in learned["expectations"]} >= {
        "expect_table_columns_to_match_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
    }
    docs = Path(result["data_docs_uri"].removeprefix("file://"))
    assert docs.is_file() and docs.is_relative_to(tmp_path)
    assert "<html" in docs.read_text().lower()
    assert validate_context["ti"].pushed[DOCS_KEY] == result["data_docs_uri"]
    json.dumps(result)  # small and JSON-able


def test_an_edited_suite_file_is_used_as_given(
    tmp_path: Path, corpus: dict[str, Path], reference_csv: Path, validate_context: dict[str, Any]
) -> None:
    suite_path = tmp_path / "suite.json"
    _operator(
        tmp_path,
        dataset=str(corpus["clean"]),
        reference=str(reference_csv),
        learned_suite_path=str(suite_path),
    ).execute(validate_context)
    suite = json.loads(suite_path.read_text())
    for item in suite["expectations"]:
        if (
            item["type"] == "expect_column_values_to_be_in_set"
            and item["kwargs"]["column"] == "clinic"
        ):
            item["kwargs"]["value_set"] = ["north", "south"]  # a reviewer narrows the set
    suite_path.write_text(json.dumps(suite))
    with pytest.raises(DataValidationFailed) as caught:
        _operator(tmp_path, dataset=str(corpus["clean"]), suite=str(suite_path)).execute(
            validate_context
        )
    assert "'clinic'" in str(caught.value)
    assert "east" in str(caught.value) or "west" in str(caught.value)


def test_schema_failure_stops_and_the_message_says_where_the_report_is(
    tmp_path: Path, corpus: dict[str, Path], reference_csv: Path, validate_context: dict[str, Any]
) -> None:
    operator = _operator(
        tmp_path,
        dataset=str(corpus["renamed_column"]),
        reference=str(reference_csv),
        policy={"value_severity": "warn"},
    )
    with pytest.raises(DataValidationFailed) as caught:
        operator.execute(validate_context)
    assert isinstance(caught.value, AirflowFailException)  # a validation stop does not retry
    message = str(caught.value)
    assert "STOP" in message and "mean_concavity_v2" in message
    assert RESULT_KEY in message and "index.html" in message
    pushed = validate_context["ti"].pushed
    assert pushed[RESULT_KEY]["outcome"] == "stop"
    assert caught.value.details["failed"][0]["expectation"] == "expect_table_columns_to_match_set"
    assert Path(pushed[DOCS_KEY].removeprefix("file://")).is_file()


@pytest.mark.parametrize(
    ("severity", "outcome", "retrain"), [("warn", "warn", False), ("retrain", "warn", True)]
)
def test_value_failures_follow_the_policy(
    severity: str,
    outcome: str,
    retrain: bool,
    tmp_path: Path,
    corpus: dict[str, Path],
    reference_csv: Path,
    validate_context: dict[str, Any],
) -> None:
    operator = _operator(
        tmp_path,
        dataset=str(corpus["unseen_category"]),
        reference=str(reference_csv),
        policy={"overrides": {"expect_column_values_to_be_in_set": severity}},
    )
    result = operator.execute(validate_context)
    assert result["outcome"] == outcome and result["retrain"] is retrain
    assert result["success"] is False
    [failure] = result["failed"]
    assert failure["column"] == "clinic" and failure["unexpected_count"] == 10
    assert failure["severity"] == severity and failure["examples"] == ["unknown-site"] * 5


def test_value_skew_asks_for_retraining_and_broken_values_stop(
    tmp_path: Path, corpus: dict[str, Path], reference_csv: Path, validate_context: dict[str, Any]
) -> None:
    from airflow_mlops.local.demo.dataset import with_drift
    from tests.support.corpus import clean_batch, reference_frame

    drifted = tmp_path / "drifted.csv"
    with_drift(clean_batch(reference_frame()), {"mean_radius": 3.0}).to_csv(drifted, index=False)
    result = _operator(tmp_path, dataset=str(drifted), reference=str(reference_csv)).execute(
        validate_context
    )
    assert (result["outcome"], result["retrain"]) == ("warn", True)
    assert {(f["column"], f["severity"]) for f in result["failed"]} == {("mean_radius", "retrain")}
    broken = _operator(tmp_path, dataset=str(corpus["out_of_range"]), reference=str(reference_csv))
    with pytest.raises(DataValidationFailed, match=r"\[stop\].*mean_area"):
        broken.execute(validate_context)


def test_value_failures_stop_by_default(
    tmp_path: Path, corpus: dict[str, Path], reference_csv: Path, validate_context: dict[str, Any]
) -> None:
    operator = _operator(
        tmp_path, dataset=str(corpus["unseen_category"]), reference=str(reference_csv)
    )
    with pytest.raises(DataValidationFailed, match="unknown-site"):
        operator.execute(validate_context)


class CodeSuiteOperator(ValidateDataOperator):
    """A subclass that writes its suite in code."""

    def build_suite(self, context: Any) -> dict[str, Any]:
        import great_expectations as gx
        import great_expectations.expectations as gxe

        return gx.ExpectationSuite(
            name="in_code",
            expectations=[gxe.ExpectColumnMeanToBeBetween(column="mean_radius", min_value=100)],
        ).to_json_dict()


def test_build_suite_override_runs_any_gx_expectation(
    tmp_path: Path, corpus: dict[str, Path], validate_context: dict[str, Any]
) -> None:
    operator = CodeSuiteOperator(
        task_id="validate", dataset=str(corpus["clean"]), artifact_root=str(tmp_path)
    )
    with pytest.raises(DataValidationFailed, match="expect_column_mean_to_be_between") as caught:
        operator.execute(validate_context)
    assert caught.value.details["engines"] == {"gx": 1}


def test_an_invalid_suite_file_is_a_clear_task_error(
    tmp_path: Path, corpus: dict[str, Path], validate_context: dict[str, Any]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "name": "bad",
                "expectations": [{"type": "expect_column_values_to_be_between", "kwargs": {}}],
            }
        )
    )
    with pytest.raises(InvalidInputError, match="expect_column_values_to_be_between") as caught:
        _operator(tmp_path, dataset=str(corpus["clean"]), suite=str(bad)).execute(validate_context)
    assert isinstance(caught.value, AirflowFailException)  # bad input: no retry


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"dataset": "x.csv"}, "needs suite, reference"),
        ({"dataset": "x.csv", "suite": "s.json", "reference": "r.csv"}, "both suite and reference"),
        ({"dataset": "x.csv", "suite": "s.json", "engine": "spark"}, "'spark'"),
        ({"dataset": "x.csv", "suite": "s.json", "policy": {"value_severity": "maybe"}}, "'maybe'"),
    ],
)
def test_init_refuses_bad_arguments(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        ValidateDataOperator(task_id="validate", **kwargs)


def test_operator_declares_templates_and_link() -> None:
    assert {"dataset", "suite", "reference", "artifact_root"} <= set(
        ValidateDataOperator.template_fields
    )
    assert any(isinstance(link, DataDocsLink) for link in ValidateDataOperator.operator_extra_links)
    assert DataDocsLink().name == "Data docs"
