"""Great Expectations itself: run expectations in an ephemeral context, render data docs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_mlops.task_logs import quiet_gx_context, quiet_libraries
from airflow_mlops.validation.engine import ExpectationResult, plain_value

if TYPE_CHECKING:
    import pandas as pd


def evaluate_gx(
    frame: pd.DataFrame, items: list[dict[str, Any]], *, suite_name: str, max_examples: int
) -> list[ExpectationResult]:
    """Run ``items`` on ``frame`` with GX's pandas engine (ephemeral context, no files)."""
    if not items:
        return []
    quiet_libraries()
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    context = gx.get_context(mode="ephemeral")
    quiet_gx_context(context)
    batch = (
        context.data_sources.add_pandas("airflow_mlops")
        .add_dataframe_asset("dataset")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = gx.ExpectationSuite(
        name=suite_name,
        expectations=[
            ExpectationConfiguration(type=i["type"], kwargs=i["kwargs"]).to_domain_obj()
            for i in items
        ],
    )
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite_name}-run", data=batch, suite=suite)
    )
    outcome = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": max_examples},
    )
    # GX reorders results: match them to our items (which carry meta) by the ids it assigned
    position = {expectation.id: index for index, expectation in enumerate(suite.expectations)}
    ordered = sorted(outcome.results, key=lambda r: position[r.expectation_config.id])
    return [_from_gx(item, result) for item, result in zip(items, ordered, strict=True)]


def _from_gx(item: dict[str, Any], result: Any) -> ExpectationResult:
    detail = dict(result.result or {})
    info = result.exception_info or {}
    # GX 1.x nests exception info per metric when a metric of the expectation failed
    raised = [info, *(v for v in info.values() if isinstance(v, dict))]
    errors = [str(i.get("exception_message")) for i in raised if i.get("raised_exception")]
    error = errors[0] if errors else None
    observed = plain_value(detail.get("observed_value"))
    if item["type"] == "expect_table_columns_to_match_set":
        mismatch = detail.get("details", {}).get("mismatched", {})
        observed = {
            "missing": list(mismatch.get("missing", [])),
            "unexpected": list(mismatch.get("unexpected", [])),
        }
    return ExpectationResult(
        item["type"],
        item["kwargs"],
        item["meta"],
        bool(result.success),
        element_count=detail.get("element_count"),
        unexpected_count=detail.get("unexpected_count"),
        missing_count=detail.get("missing_count"),
        examples=[plain_value(v) for v in detail.get("partial_unexpected_list", [])],
        observed=observed,
        error=error,
        engine="gx",
    )


def render_data_docs(
    suite_name: str, results: list[ExpectationResult], *, run_name: str, dataset: str
) -> str:
    """GX's validation-results page (standalone HTML) for ``results``, from either engine."""
    quiet_libraries()
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    gx_results = [
        ExpectationValidationResult(
            success=r.success,
            expectation_config=ExpectationConfiguration(type=r.type, kwargs=r.kwargs, meta=r.meta),
            result=_gx_detail(r),
            exception_info={
                "raised_exception": r.error is not None,
                "exception_message": r.error,
                "exception_traceback": r.error,
            },
        )
        for r in results
    ]
    passed = sum(r.success for r in results)
    suite_result = ExpectationSuiteValidationResult(
        success=passed == len(results),
        results=gx_results,
        suite_name=suite_name,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": 100.0 * passed / len(results) if results else 100.0,
        },
        meta={
            "active_batch_definition": {
                "datasource_name": "airflow_mlops",
                "data_asset_name": dataset,
            },
            "run_id": {"run_name": run_name, "run_time": None},
        },
    )
    page = ValidationResultsPageRenderer().render(suite_result)
    return DefaultJinjaPageView().render(page)


def _gx_detail(result: ExpectationResult) -> dict[str, Any]:
    if result.element_count is None:
        return {} if result.observed is None else {"observed_value": result.observed}
    fraction = result.unexpected_fraction or 0.0
    return {
        "element_count": result.element_count,
        "unexpected_count": result.unexpected_count,
        "unexpected_percent": 100.0 * fraction,
        "missing_count": result.missing_count or 0,
        "partial_unexpected_list": result.examples,
    }
