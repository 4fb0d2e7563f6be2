"""Airflow hooks: connections to MLflow, the DVC remote and the Docker engine."""
