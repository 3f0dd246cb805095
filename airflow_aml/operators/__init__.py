"""airflow-aml operators."""
