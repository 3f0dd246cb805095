"""Mirror of ``azureml.pipeline.core``: Pipeline, PipelineData, PipelineParameter, runs."""

from airflow_aml.pipeline.core.builder import PipelineData, PipelineStep, StepSequence
from airflow_aml.pipeline.core.graph import (
    Graph,
    InputPortBinding,
    OutputPortBinding,
    PipelineDataset,
    PipelineParameter,
    TrainingOutput,
)
from airflow_aml.pipeline.core.module import Module, ModuleVersion, ModuleVersionDescriptor
from airflow_aml.pipeline.core.pipeline import Pipeline
from airflow_aml.pipeline.core.pipeline_draft import PipelineDraft
from airflow_aml.pipeline.core.pipeline_endpoint import PipelineEndpoint
from airflow_aml.pipeline.core.published_pipeline import PublishedPipeline
from airflow_aml.pipeline.core.run import PipelineRun, PortDataReference, StepRun, StepRunOutput
from airflow_aml.pipeline.core.schedule import Schedule, ScheduleRecurrence, TimeZone

__all__ = [
    "Graph",
    "InputPortBinding",
    "Module",
    "ModuleVersion",
    "ModuleVersionDescriptor",
    "OutputPortBinding",
    "Pipeline",
    "PipelineData",
    "PipelineDataset",
    "PipelineDraft",
    "PipelineEndpoint",
    "PipelineParameter",
    "PipelineRun",
    "PipelineStep",
    "PortDataReference",
    "PublishedPipeline",
    "Schedule",
    "ScheduleRecurrence",
    "StepRun",
    "StepRunOutput",
    "StepSequence",
    "TimeZone",
    "TrainingOutput",
]
