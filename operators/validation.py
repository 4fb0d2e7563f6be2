"""ValidateDataOperator: the Great Expectations data-validation gate of a CT run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_mlops.errors import ConfigError, MlopsError
from airflow_mlops.inputs import check_int, check_name, check_path, check_text, fail, rule
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.artifacts import context_artifact_dir
from airflow_mlops.operators.exceptions import InvalidInputError, MlopsTaskError, fails_again
from airflow_mlops.plugins.links import DOCS_KEY as DOCS_KEY
from airflow_mlops.plugins.links import DataDocsLink
from airflow_mlops.validation.policy import ValidationPolicy
from airflow_mlops.validation.validate import ENGINES

if TYPE_CHECKING:
    from airflow.sdk import Context

#: XCom keys pushed besides the return value (also when the validation fails): this one and
#: ``DOCS_KEY``, which the "Data docs" link reads
RESULT_KEY = "validation_result"


#: argument checks (``reference`` is checked with ``suite``: see ``argument_rules``)
RULES = {
    "dataset": check_path,
    "suite": rule(check_path, allow_none=True),
    "learned_suite_path": rule(check_path, allow_none=True),
    "label_column": rule(check_text, max_length=256, allow_none=True),
    "aws_conn_id": rule(check_name, allow_none=True),
    "artifact_root": rule(check_path, allow_none=True),
    "max_bytes": rule(check_int, 1, 2**62, allow_none=True),
}


class DataValidationFailed(MlopsTaskError, AirflowFailException):
    """The dataset failed expectations whose severity is ``stop``; ``details`` is the result.
    The task fails without retrying: a retry would validate the same data."""


class ValidateDataOperator(BaseOperator):
    """Validate a dataset against an expectation suite; stop the run on schema skew.

    The suite comes from, in this order: :meth:`build_suite` (override it in a subclass), the
    GX suite JSON file ``suite``, or expectations learned from the ``reference`` dataset and
    saved as a reviewable JSON file at ``learned_suite_path`` (edit it and pass it back as
    ``suite``). Schema failures always fail the task; value failures follow ``policy``.
    Returns ``{success, outcome, retrain, dataset, suite, failed, statistics, data_docs_uri,
    report_uri, suite_uri, engines}``.

    :param dataset: CSV or Parquet file, local path or ``s3://`` URI. (templated)
    :param suite: a GX suite JSON file. (templated)
    :param reference: a dataset to learn the suite from when ``suite`` is not given. (templated)
    :param learned_suite_path: where the learned suite is written; default
        ``<artifact_root>/validation/suites/<dag_id>.<task_id>.json``. (templated)
    :param label_column: the label column of the learned suite (must exist, keeps its classes).
    :param policy: a :class:`ValidationPolicy` or a dict of its fields (default: value
        failures stop the run too).
    :param engine: ``auto`` (vectorised checks, GX for the rest) or ``gx`` (GX runs all).
    :param aws_conn_id: Airflow AWS connection used for ``s3://`` paths.
    :param artifact_root: local folder for reports and data docs (written under
        ``<artifact_root>/validation/<dag_id>/<run_id>/<task_id>``); default
        ``$AIRFLOW_MLOPS_ARTIFACT_ROOT``, else ``<home>/artifacts``. (templated)
    :param max_bytes: size limit on the dataset (and its decompressed content).
    """

    template_fields = ("dataset", "suite", "reference", "learned_suite_path", "artifact_root")
    operator_extra_links = (DataDocsLink(),)
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        dataset: str,
        suite: str | None = None,
        reference: str | None = None,
        learned_suite_path: str | None = None,
        label_column: str | None = None,
        policy: ValidationPolicy | Mapping[str, Any] | None = None,
        engine: str = "auto",
        aws_conn_id: str | None = "aws_default",
        artifact_root: str | None = None,
        max_bytes: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if engine not in ENGINES:
            raise ConfigError(
                f"ValidateDataOperator engine {engine!r} is not one of {', '.join(ENGINES)}.",
                hint="Use 'auto' (fast) or 'gx' (GX computes every expectation).",
            )
        self.dataset = dataset
        self.suite = suite
        self.reference = reference
        self.learned_suite_path = learned_suite_path
        self.label_column = label_column
        self.policy = ValidationPolicy.coerce(policy)
        self.engine = engine
        self.aws_conn_id = aws_conn_id
        self.artifact_root = artifact_root
        self.max_bytes = max_bytes
        check_arguments(self, self.argument_rules, rendered=False)

    @property
    def argument_rules(self) -> dict[str, Any]:
        """The argument checks: :data:`RULES` and where the suite comes from."""
        return {**RULES, "reference": self._check_reference}

    def _check_reference(self, name: str, value: Any) -> str | None:
        """``reference`` is a path, given instead of ``suite`` unless ``build_suite`` is
        overridden."""
        if value and self.suite:
            raise fail(name, value, "got both suite and reference: pass one, not both")
        if not value:
            if not self.suite and type(self).build_suite is ValidateDataOperator.build_suite:
                raise fail(
                    name,
                    value,
                    "needs suite, reference, or a subclass with build_suite(): pass "
                    "suite='path/to/suite.json' or reference='path/to/reference.csv'",
                )
            return None
        return check_path(name, value)

    def build_suite(self, context: Context) -> dict[str, Any] | None:
        """Override to build the suite in code: return a GX suite dict (or ``gx.ExpectationSuite``
        as ``suite.to_json_dict()``); ``None`` uses ``suite`` or ``reference``."""
        return None

    def storage_options(self, path: str) -> dict[str, Any] | None:
        """fsspec options for ``path``: credentials and endpoint from ``aws_conn_id`` for s3://."""
        if not path.startswith(("s3://", "s3a://")) or not self.aws_conn_id:
            return None
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        hook = AwsBaseHook(aws_conn_id=self.aws_conn_id, client_type="s3")
        credentials = hook.get_credentials()
        client_kwargs = {"region_name": hook.conn_region_name or "us-east-1"}
        endpoint = hook.conn_config.endpoint_url
        if endpoint:
            client_kwargs["endpoint_url"] = endpoint
        return {
            "key": credentials.access_key,
            "secret": credentials.secret_key,
            "token": credentials.token,
            "client_kwargs": client_kwargs,
        }

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.settings import MlopsHome
        from airflow_mlops.validation.validate import validate_dataset

        check_arguments(self, self.argument_rules, rendered=True)
        root = Path(self.artifact_root) if self.artifact_root else MlopsHome.from_env().artifacts
        ti = context["ti"]
        output = context_artifact_dir(context, "validation", root=root)
        try:
            suite, suite_uri = self._resolve_suite(context, root)
            report = validate_dataset(
                self.dataset,
                suite,
                storage_options=self.storage_options(self.dataset),
                max_bytes=self.max_bytes,
                policy=self.policy,
                engine=self.engine,
                output_dir=output,
                run_name=f"{ti.dag_id}/{ti.run_id}/{ti.task_id}",
            )
        except MlopsError as error:
            refused = fails_again(error)
            raise (InvalidInputError if refused else MlopsTaskError).from_core(error) from error
        result = {**report.to_dict(), "suite_uri": suite_uri}
        ti.xcom_push(key=DOCS_KEY, value=report.data_docs_uri)
        ti.xcom_push(key=RESULT_KEY, value=result)
        where = f"XCom key {RESULT_KEY!r} of task {ti.task_id!r}"
        if report.outcome == "stop":
            raise DataValidationFailed(report.summary(where=where), details=result)
        if report.outcome == "warn":
            self.log.warning("%s", report.summary(where=where))
        else:
            self.log.info("Validation passed: %s", report.statistics)
        return result

    def _resolve_suite(self, context: Context, root: Path) -> tuple[dict[str, Any], str | None]:
        from airflow_mlops.data.io import read_table
        from airflow_mlops.validation.learn import LearnOptions, learn_suite
        from airflow_mlops.validation.suite import (
            check_with_gx,
            load_suite,
            normalize_suite,
            save_suite,
        )

        built = self.build_suite(context)
        if built is not None:
            suite, uri = normalize_suite(built, source=f"{type(self).__name__}.build_suite()"), None
        elif self.suite:
            suite, uri = load_suite(self.suite), Path(self.suite).resolve().as_uri()
        else:
            reference = read_table(
                self.reference, storage_options=self.storage_options(self.reference)
            )
            suite = learn_suite(
                reference,
                name=f"{context['ti'].dag_id}.{self.task_id}",
                options=LearnOptions(label=self.label_column),
            )
            target = Path(
                self.learned_suite_path
                or root / "validation" / "suites" / f"{context['ti'].dag_id}.{self.task_id}.json"
            )
            uri = save_suite(target, suite).resolve().as_uri()
            self.log.info("Learned suite from %s written to %s", self.reference, target)
        check_with_gx(suite)
        return suite, uri
