mlflow server \
  --backend-store-uri postgresql+psycopg2://mlflow:change-me@postgres:5432/mlflow \
  --artifacts-destination s3://acme-mlops/mlflow-artifacts \
  --serve-artifacts \
  --host 0.0.0.0 --port 5000 \
  --workers 4
