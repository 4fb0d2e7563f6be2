"""Airflow operators: thin adapters over the :mod:`airflow_mlops` core."""
