"""Infra validation in a clean serving runtime: onnxruntime and numpy, without torch or Airflow.

:mod:`~airflow_mlops.serving.runtime` makes the runtime (a virtualenv under the artifact root
where no Docker engine runs); :mod:`~airflow_mlops.serving.probe` is the script it runs (it
imports only numpy and onnxruntime); :mod:`~airflow_mlops.serving.check` feeds it holdout rows,
compares its outputs with the exporter's onnxruntime outputs and reads its latency.
"""
