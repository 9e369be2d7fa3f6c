"""MLflow's Model Registry REST API (``/api/2.0/mlflow/...``) as a third door onto the same services, and reading
model files from an MLflow tracking server (docs/mlflow.md)."""
