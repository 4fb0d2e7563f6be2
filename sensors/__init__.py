"""Airflow sensors and triggers that start pipelines when data arrives."""
