"""Airflow operators: thin adapters over the :mod:`airflow_mlops` core.

The public classes import from here (``from airflow_mlops.operators import DvcPullOperator``);
each loads its module on first use, so importing this package stays cheap at DAG parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_mlops.lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_mlops.operators.cicd import (
        BuildTrainingImageOperator,
        CICDTaskError,
        DeployTrainingImageOperator,
        PublishTrainingImageOperator,
        TestTrainingImageOperator,
    )
    from airflow_mlops.operators.ct import PrepareCTRunOperator
    from airflow_mlops.operators.data import DvcPullError, DvcPullOperator
    from airflow_mlops.operators.evaluation import EvaluateAndPromoteOperator, GateRejectedError
    from airflow_mlops.operators.exceptions import InvalidArgumentError, MlopsTaskError
    from airflow_mlops.operators.export import ExportOnnxOperator, OnnxExportError
    from airflow_mlops.operators.mlflow_base import PromotionError, RegistrationError
    from airflow_mlops.operators.monitoring import DriftMonitorError, DriftMonitorOperator
    from airflow_mlops.operators.register import RegisterModelOperator
    from airflow_mlops.operators.rollback import RollbackChampionOperator
    from airflow_mlops.operators.scoring import BatchPredictError, BatchPredictOperator
    from airflow_mlops.operators.skip_trained import SkipIfTrainedOperator
    from airflow_mlops.operators.training import TrainInDockerOperator, TrainingTaskError
    from airflow_mlops.operators.validation import DataValidationFailed, ValidateDataOperator

#: public name -> the submodule that defines it
_HOMES = {
    "BuildTrainingImageOperator": "cicd",
    "CICDTaskError": "cicd",
    "DeployTrainingImageOperator": "cicd",
    "PublishTrainingImageOperator": "cicd",
    "TestTrainingImageOperator": "cicd",
    "PrepareCTRunOperator": "ct",
    "DvcPullError": "data",
    "DvcPullOperator": "data",
    "InvalidArgumentError": "exceptions",
    "MlopsTaskError": "exceptions",
    "ExportOnnxOperator": "export",
    "OnnxExportError": "export",
    "EvaluateAndPromoteOperator": "evaluation",
    "GateRejectedError": "evaluation",
    "PromotionError": "mlflow_base",
    "RegisterModelOperator": "register",
    "RegistrationError": "mlflow_base",
    "RollbackChampionOperator": "rollback",
    "SkipIfTrainedOperator": "skip_trained",
    "DriftMonitorError": "monitoring",
    "DriftMonitorOperator": "monitoring",
    "BatchPredictError": "scoring",
    "BatchPredictOperator": "scoring",
    "TrainingTaskError": "training",
    "TrainInDockerOperator": "training",
    "DataValidationFailed": "validation",
    "ValidateDataOperator": "validation",
}

__all__ = [
    "BatchPredictError",
    "BatchPredictOperator",
    "BuildTrainingImageOperator",
    "CICDTaskError",
    "DataValidationFailed",
    "DeployTrainingImageOperator",
    "DriftMonitorError",
    "DriftMonitorOperator",
    "DvcPullError",
    "DvcPullOperator",
    "EvaluateAndPromoteOperator",
    "ExportOnnxOperator",
    "GateRejectedError",
    "InvalidArgumentError",
    "MlopsTaskError",
    "OnnxExportError",
    "PrepareCTRunOperator",
    "PromotionError",
    "PublishTrainingImageOperator",
    "RegisterModelOperator",
    "RegistrationError",
    "RollbackChampionOperator",
    "SkipIfTrainedOperator",
    "TestTrainingImageOperator",
    "TrainInDockerOperator",
    "TrainingTaskError",
    "ValidateDataOperator",
]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
