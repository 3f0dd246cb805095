"""Mirror of ``azureml.pipeline.core``: Pipeline, PipelineData, PipelineParameter, runs."""

from airflow_aml.pipeline.core.builder import PipelineData, PipelineStep, StepSequence
from airflow_aml.pipeline.core.graph import (
    Graph,
    InputPortBinding,
    OutputPortBinding,
    PipelineParameter,
)
from airflow_aml.pipeline.core.pipeline import Pipeline
from airflow_aml.pipeline.core.pipeline_endpoint import PipelineEndpoint
from airflow_aml.pipeline.core.published_pipeline import PublishedPipeline
from airflow_aml.pipeline.core.run import PipelineRun, PortDataReference, StepRun, StepRunOutput

__all__ = [
    "Graph",
    "InputPortBinding",
    "OutputPortBinding",
    "Pipeline",
    "PipelineData",
    "PipelineEndpoint",
    "PipelineParameter",
    "PipelineRun",
    "PipelineStep",
    "PortDataReference",
    "PublishedPipeline",
    "StepRun",
    "StepRunOutput",
    "StepSequence",
]
