"""Mirror of ``azureml.pipeline.steps``: one module per step kind."""

from airflow_aml.pipeline.steps.python_script_step import PythonScriptStep

__all__ = ["PythonScriptStep"]
