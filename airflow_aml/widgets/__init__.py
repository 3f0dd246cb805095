"""Mirror of ``azureml.widgets``: ``RunDetails(run).show()`` in a terminal or Jupyter."""

from airflow_aml.widgets.parallel_run_step_details import ParallelRunStepDetails
from airflow_aml.widgets.run_details import RunDetails

__all__ = ["RunDetails", "ParallelRunStepDetails"]
