"""`modelreg import mlflow`: bringing an MLflow model registry over (docs/mlflow-import.md)."""
