"""Mirror of ``azureml.pipeline``."""
