"""The SDK v1 "compare models" getting-started pipeline, ported to airflow-aml.

``pipeline.build_pipeline(ws)`` builds the pipeline, ``run.py`` submits it,
``../compare_models_dag.py`` exposes it as an Airflow DAG.
"""
