"""MLflow operators: skip known fingerprints, register with lineage, gate and promote, roll back.

All take ``mlflow_conn_id`` (an Airflow connection of type ``mlflow``; falls back to
``MLFLOW_TRACKING_URI``) and push small JSON dicts of references to XCom. Each lives in a module
with one job, and imports from here too:

- :mod:`~airflow_mlops.operators.skip_trained`: :class:`SkipIfTrainedOperator`;
- :mod:`~airflow_mlops.operators.register`: :class:`RegisterModelOperator`;
- :mod:`~airflow_mlops.operators.evaluation`: :class:`EvaluateAndPromoteOperator`;
- :mod:`~airflow_mlops.operators.rollback`: :class:`RollbackChampionOperator`;
- :mod:`~airflow_mlops.operators.mlflow_base`: what they share (the task errors, the readers of
  rendered dict and bool arguments).
"""

from __future__ import annotations

from airflow_mlops.operators.evaluation import (
    EvaluateAndPromoteOperator as EvaluateAndPromoteOperator,
)
from airflow_mlops.operators.evaluation import GateRejectedError as GateRejectedError
from airflow_mlops.operators.evaluation import check_gate as check_gate
from airflow_mlops.operators.mlflow_base import PromotionError as PromotionError
from airflow_mlops.operators.mlflow_base import RegistrationError as RegistrationError
from airflow_mlops.operators.mlflow_base import as_bool as as_bool
from airflow_mlops.operators.mlflow_base import as_mapping as as_mapping
from airflow_mlops.operators.mlflow_base import check_mapping_or_json as check_mapping_or_json
from airflow_mlops.operators.register import RegisterModelOperator as RegisterModelOperator
from airflow_mlops.operators.rollback import RollbackChampionOperator as RollbackChampionOperator
from airflow_mlops.operators.skip_trained import MD5_PATTERN as MD5_PATTERN
from airflow_mlops.operators.skip_trained import UNPINNED_IMAGE as UNPINNED_IMAGE
from airflow_mlops.operators.skip_trained import SkipIfTrainedOperator as SkipIfTrainedOperator
