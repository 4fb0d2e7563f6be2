"""The reference of a monitoring run: the training data of the compared model version, found
through its lineage tags and pulled from the DVC data registry, with the model's predictions."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_mlops.errors import DriftError
from airflow_mlops.lineage import DATA_COMMIT_TAG, DATA_REV_TAG, DATASET_TAG
from airflow_mlops.monitoring.scoring import PREDICTION

if TYPE_CHECKING:
    import pandas as pd

    from airflow_mlops.export.runtime import OnnxPredictor


def pull_training_data(
    data_registry: str | None,
    model: str,
    tags: Mapping[str, str],
    *,
    workspace: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
) -> Path:
    """Pull the dataset named by a model version's lineage tags (``mlops.dataset`` at
    ``mlops.data_commit``, else ``mlops.data_rev``) from ``data_registry``; its local path.

    :raises DriftError: no registry, or the version lacks the tags.
    :raises DataError: the pull failed.
    """
    if not (data_registry and DATASET_TAG in tags and DATA_REV_TAG in tags):
        raise DriftError(
            f"No reference for {model!r}: reference_path is not set and "
            f"{'data_registry is not set' if not data_registry else 'the version lacks'}"
            f" {DATASET_TAG}/{DATA_REV_TAG} tags.",
            hint="Set reference_path, or data_registry for a model registered by the CT DAG.",
            details={"tags": sorted(tags)},
        )
    from airflow_mlops.data.dvc import pull

    pulled = pull(
        data_registry,
        [tags[DATASET_TAG]],
        # the resolved commit: a branch named in data_rev may have moved since training
        rev=tags.get(DATA_COMMIT_TAG) or tags[DATA_REV_TAG],
        workspace=workspace,
        cache_dir=cache_dir,
    )
    return Path(pulled.targets[0].local_path)


def with_predictions(reference: pd.DataFrame, predictor: OnnxPredictor) -> pd.DataFrame:
    """``reference`` with the model's ``prediction`` column (for prediction and performance
    drift).

    :raises DriftError: the reference lacks some of the model's feature columns.
    """
    missing = [c for c in predictor.feature_columns if c not in reference.columns]
    if missing:
        raise DriftError(
            f"The reference data lacks the model's columns {missing}.",
            hint="Point reference_path at the data the model was trained on.",
            details={"missing": missing},
        )
    return reference.assign(**{PREDICTION: predictor.predict(reference)})
