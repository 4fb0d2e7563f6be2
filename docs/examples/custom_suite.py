"""A custom validation suite written in code: subclass ValidateDataOperator, override build_suite.

Use it like the base operator, without ``suite`` or ``reference``::

    validate = ClinicalSuiteValidateOperator(
        task_id="validate",
        dataset="{{ ti.xcom_pull('pull')['targets'][0]['local_path'] }}",
        max_radius=40.0,
    )

Schema-level expectations always stop the run; value-level ones follow the operator's
``policy`` (here: ``stop`` unless the policy says otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_mlops.operators.validation import ValidateDataOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

FEATURES = ("mean_radius", "mean_texture", "mean_area", "worst_area")
CLINICS = ["north", "south", "east", "west"]


def expectation(kind: str, level: str, **kwargs: Any) -> dict[str, Any]:
    """One GX expectation in the suite JSON format, with its policy level."""
    return {"type": kind, "kwargs": kwargs, "meta": {"level": level}}


class ClinicalSuiteValidateOperator(ValidateDataOperator):
    """Validates the cancer data with rules the data owners wrote, not learned ones.

    :param max_radius: the largest plausible ``mean_radius`` in micrometres.
    """

    def __init__(self, *, max_radius: float = 40.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_radius = max_radius

    def build_suite(self, context: Context) -> dict[str, Any]:
        schema = [
            expectation("expect_column_to_exist", "schema", column=column)
            for column in (*FEATURES, "clinic", "malignant")
        ]
        schema += [
            expectation("expect_table_row_count_to_be_between", "schema", min_value=50),
            expectation("expect_column_values_to_not_be_null", "schema", column="malignant"),
        ]
        values = [
            expectation(
                "expect_column_values_to_be_between",
                "value",
                column="mean_radius",
                min_value=0,
                max_value=self.max_radius,
            ),
            expectation(
                "expect_column_values_to_be_in_set", "value", column="clinic", value_set=CLINICS
            ),
            expectation(
                "expect_column_values_to_be_in_set", "value", column="malignant", value_set=[0, 1]
            ),
        ]
        return {"name": f"{context['ti'].dag_id}.clinical", "expectations": schema + values}
