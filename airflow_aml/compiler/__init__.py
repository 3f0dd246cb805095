"""airflow-aml compiler."""
