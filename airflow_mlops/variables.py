"""The Airflow Variables the pipeline reads and writes: their names and defaults, in one place.

Plain names only (no Airflow import): operators and DAGs read the Variables, and the level-2
DAG (``dags/mlops_level2_cicd.py``) writes the training image after building and testing it.
"""

from __future__ import annotations

#: the training image the CT DAGs train with; the level-2 DAG sets it after a tested build
TRAINING_IMAGE_VARIABLE = "mlops_training_image"
#: the training image when that Variable is not set
DEFAULT_TRAINING_IMAGE = "airflow-mlops-train:latest"
#: the base image the level-2 DAG builds the training image on
BASE_IMAGE_VARIABLE = "mlops_base_image"
DEFAULT_BASE_IMAGE = "local/bookworm-py:base"
#: the repository (e.g. an ECR URI) the level-2 DAG publishes to; unset keeps the local image
ECR_REPOSITORY_VARIABLE = "mlops_ecr_repository"
