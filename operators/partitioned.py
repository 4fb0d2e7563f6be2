"""Drift and scoring scaled out on Airflow itself: one mapped task per partition, then a reduce.

Drift (:mod:`~airflow_mlops.monitoring.partials`)::

    files = ListPartitionsOperator(task_id="partitions", location="/data/log/2026-01")
    fit = DriftReferenceOperator(task_id="reference", reference="/data/train.parquet",
                                 numerical_columns=["x", "y"])
    sketches = DriftPartitionOperator.partial(
        task_id="sketch", reference_fit=fit.output
    ).expand(path=files.output)
    DriftReduceOperator(task_id="decide", reference_fit=fit.output, reference="/data/train.parquet",
                        partials=sketches.output, current=files.output,
                        numerical_columns=["x", "y"])

Each mapped task writes its sketch to its own artifact folder and returns only the path; the
reduce returns the same decision as the single pass. Scoring maps
:class:`~airflow_mlops.operators.scoring.BatchPredictOperator` with ``.expand(input_path=...)``
and sums with :class:`ScoringSummaryOperator`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_mlops.errors import MlopsError
from airflow_mlops.inputs import check_path
from airflow_mlops.monitoring.drift_types import DriftConfig
from airflow_mlops.operators.arguments import check_arguments
from airflow_mlops.operators.artifacts import context_artifact_dir
from airflow_mlops.operators.exceptions import MlopsTaskError

if TYPE_CHECKING:
    from airflow.sdk import Context


class PartitionedDriftError(MlopsTaskError):
    """A partitioned drift step failed: data missing or lacking columns, a mismatched sketch."""


def _run(step: Any, *args: Any, **kwargs: Any) -> Any:
    """``step(*args, **kwargs)`` with core errors raised as task errors."""
    try:
        return step(*args, **kwargs)
    except MlopsError as error:
        raise PartitionedDriftError.from_core(error) from error


def _check(operator: Any, *, rendered: bool) -> None:
    """The operator's argument checks; at construction, an upstream task's output (an
    ``XComArg``) is left for ``execute``."""
    rules = operator.argument_rules
    if not rendered:
        rules = {n: r for n, r in rules.items() if isinstance(getattr(operator, n), str)}
    check_arguments(operator, rules, rendered=rendered)


class ListPartitionsOperator(BaseOperator):
    """Return the Parquet files of a dataset folder (sorted), to map one task over each.

    :param location: a Parquet file or a folder of them (e.g. a window of the inference log).
        (templated)
    """

    template_fields: Sequence[str] = ("location",)
    argument_rules = {"location": check_path}

    def __init__(self, *, location: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.location = location
        _check(self, rendered=False)

    def execute(self, context: Context) -> list[str]:
        from airflow_mlops.monitoring.sources import parquet_files

        _check(self, rendered=True)
        return [str(path) for path in _run(parquet_files, self.location)]


class DriftReferenceOperator(BaseOperator):
    """Fit the reference once for a partitioned drift check; return the fit's artifact path
    (``<artifacts>/drift/<dag_id>/<run_id>/<task_id>/reference.npz``).

    :param reference: the reference dataset, a CSV or Parquet file. (templated)
    :param numerical_columns: columns compared as numbers.
    :param categorical_columns: columns compared as categories.
    :param config: the drift configuration; the reduce step must get the same one.
    """

    template_fields: Sequence[str] = ("reference",)
    argument_rules = {"reference": check_path}

    def __init__(
        self,
        *,
        reference: str,
        numerical_columns: Sequence[str],
        categorical_columns: Sequence[str] = (),
        config: DriftConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.reference = reference
        self.numerical_columns = list(numerical_columns)
        self.categorical_columns = list(categorical_columns)
        self.config = config or DriftConfig()
        _check(self, rendered=False)

    def execute(self, context: Context) -> str:
        from airflow_mlops.monitoring.partials import files_source, save_reference
        from airflow_mlops.monitoring.scalable import fit_reference

        _check(self, rendered=True)
        fit = _run(
            fit_reference,
            files_source([self.reference]),
            self.numerical_columns,
            self.categorical_columns,
            self.config,
        )
        return str(save_reference(fit, context_artifact_dir(context, "drift") / "reference.npz"))


class DriftPartitionOperator(BaseOperator):
    """Sketch one partition of the current data (map it with ``.expand(path=[...])``); return
    the sketch's artifact path (``.../<task_id>/<map_index>/partial.npz``), never the data.

    :param reference_fit: the path :class:`DriftReferenceOperator` returned. (templated)
    :param path: one CSV or Parquet file of the current data. (templated)
    """

    template_fields: Sequence[str] = ("reference_fit", "path")
    argument_rules = {"reference_fit": check_path, "path": check_path}

    def __init__(self, *, reference_fit: str, path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reference_fit = reference_fit
        self.path = path
        _check(self, rendered=False)

    def execute(self, context: Context) -> str:
        from airflow_mlops.monitoring.partials import (
            files_source,
            load_reference,
            partial_sketch,
            save_partial,
        )

        _check(self, rendered=True)
        fit = _run(load_reference, self.reference_fit)
        sketch = _run(partial_sketch, fit, files_source([self.path]))
        self.log.info("Sketched %d rows of %s", sketch.rows, self.path)
        return str(save_partial(sketch, context_artifact_dir(context, "drift") / "partial.npz"))


class DriftReduceOperator(BaseOperator):
    """Merge the partitions' sketches and decide; return the drift result
    (:meth:`~airflow_mlops.monitoring.drift_types.DriftResult.as_dict`), the same as the single
    pass over all partitions.

    :param reference_fit: the path :class:`DriftReferenceOperator` returned. (templated)
    :param reference: the reference dataset given to the fit (read only for exact
        recomputations). (templated)
    :param partials: the sketch paths of the mapped :class:`DriftPartitionOperator`.
    :param current: the partitions' files (read only for the statistics that do not merge).
    :param config: the drift configuration given to the fit.
    """

    template_fields: Sequence[str] = ("reference_fit", "reference", "partials", "current")
    argument_rules = {"reference_fit": check_path, "reference": check_path}

    def __init__(
        self,
        *,
        reference_fit: str,
        reference: str,
        partials: Sequence[str],
        current: Sequence[str],
        config: DriftConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.reference_fit = reference_fit
        self.reference = reference
        self.partials = partials
        self.current = current
        self.config = config or DriftConfig()
        _check(self, rendered=False)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_mlops.monitoring.partials import (
            decide,
            files_source,
            load_partial,
            load_reference,
            merge_partials,
        )

        _check(self, rendered=True)
        fit = _run(load_reference, self.reference_fit)
        parts = [_run(load_partial, fit, path) for path in self.partials]
        merged = _run(merge_partials, fit, parts)
        result = _run(
            decide,
            fit,
            merged,
            files_source([self.reference]),
            files_source(list(self.current)),
            self.config,
        ).as_dict()
        self.log.info(
            "Drift over %d partitions: share %.2f, dataset drift %s, columns %s",
            len(parts),
            result["drift_share"],
            result["dataset_drift"],
            result["drifted_columns"],
        )
        return result


class ScoringSummaryOperator(BaseOperator):
    """Sum the results of a mapped :class:`~airflow_mlops.operators.scoring.BatchPredictOperator`
    (``.expand(input_path=[...])``): rows, the slowest partition's seconds, rows per second of
    the whole, and each partition's predictions and log files.

    :param results: the mapped task's results (its ``.output``).
    """

    template_fields: Sequence[str] = ("results",)

    def __init__(self, *, results: Sequence[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results = results

    def execute(self, context: Context) -> dict[str, Any]:
        results = list(self.results)
        rows = sum(r["rows"] for r in results)
        seconds = max((r["seconds"] for r in results), default=0.0)
        return {
            "partitions": len(results),
            "rows": rows,
            "seconds": seconds,
            "rows_per_second": rows / seconds if seconds else 0.0,
            "model_versions": sorted({str(r["model_version"]) for r in results}),
            "predictions_uris": [r["predictions_uri"] for r in results],
            "inference_log_uris": [r["inference_log_uri"] for r in results],
        }


def drift_over_partitions(
    *,
    reference: str,
    location: str,
    numerical_columns: Sequence[str],
    categorical_columns: Sequence[str] = (),
    config: DriftConfig | None = None,
) -> DriftReduceOperator:
    """Add the partitioned drift check to the DAG being defined (``with DAG(...):``): list the
    partitions of ``location``, fit ``reference``, one sketch task per partition, the reduce
    (task ids ``partitions``, ``reference``, ``sketch``, ``decide``); return the reduce task.

    :param reference: the reference dataset, a CSV or Parquet file.
    :param location: the current data, a Parquet file or a folder of them.
    :param numerical_columns: columns compared as numbers.
    :param categorical_columns: columns compared as categories.
    :param config: the drift configuration.
    """
    files = ListPartitionsOperator(task_id="partitions", location=location)
    fit = DriftReferenceOperator(
        task_id="reference",
        reference=reference,
        numerical_columns=numerical_columns,
        categorical_columns=categorical_columns,
        config=config,
    )
    sketches = DriftPartitionOperator.partial(task_id="sketch", reference_fit=fit.output).expand(
        path=files.output
    )
    return DriftReduceOperator(
        task_id="decide",
        reference_fit=fit.output,
        reference=reference,
        partials=sketches.output,
        current=files.output,
        config=config,
    )
