"""airflow-aml artifacts."""
