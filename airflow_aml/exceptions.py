"""One error tree for airflow-aml.

Every error the library raises on purpose derives from :class:`AmlError`.
Names follow SDK v1 (``azureml.exceptions``) where v1 had one, so ported
``except`` clauses keep working. Bad user input is a :class:`UserErrorException`
whose message names what is wrong (validation errors also the step and the
field); nothing the user did wrong reaches them as a bare ``ValueError`` /
``KeyError`` traceback or an HTTP 500.

The whole tree: every exception class of the package (a class under two parents
appears under both; one defined elsewhere names its module).
``tests/test_exceptions.py`` checks this drawing against the classes::

    AmlError                            root; v1 alias AzureMLException
    ├── UserErrorException              bad user input
    │   ├── ValidationError             one problem: .step, .field, .reason
    │   ├── PipelineValidationError     every problem of a pipeline: .errors
    │   ├── DatastoreException          missing file, refused overwrite, unknown datastore
    │   │   └── CorruptObjectError      a stored object is unreadable: .location, .key, .reason
    │   ├── DatasetException            datasets (planned)
    │   ├── NotSupportedError           a v1 call not supported; names the alternative
    │   ├── RecordNotFound              no published pipeline / endpoint with that id
    │   ├── ApiError                    an AML REST route's answer: .status, .reason
    │   ├── SpecError                   a stored pipeline spec is invalid (names the field)
    │   └── AuthenticationException     credentials missing or refused
    ├── WorkspaceException              a workspace cannot be found or loaded
    │   └── AuthenticationException     (the same class: also a UserErrorException)
    ├── ComputeTargetException          a compute target is missing or unusable
    ├── ExperimentExecutionException    a run cannot be submitted, started or read back
    │   ├── RunNotFound                 no run with that id
    │   └── AirflowApiError             Airflow refused a REST call: .status, .reason
    ├── ActivityFailedException         a run ended failed: .run_id, .status
    │   ├── StepRunFailed               seen by the client: .step_name, .stderr_tail
    │   └── StepFailed                  inside the step's task: .stderr_tail
    ├── AzureMLAggregatedException      v1 names kept to be caught ...
    ├── DatasetTimestampMissingError
    ├── DiscoveryUrlNotFoundException
    ├── ModelNotFoundException
    ├── ModelPathNotFoundException
    ├── ParallelRunException
    ├── ProjectSystemException
    ├── RunConfigurationException
    ├── RunEnvironmentException
    ├── ServiceException
    ├── SnapshotException
    ├── TrainingException
    ├── WebserviceException
    └── WorkspacePrivateEndpointException
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "AmlError",
    "UserErrorException",
    "ValidationError",
    "PipelineValidationError",
    "ComputeTargetException",
    "WorkspaceException",
    "DatastoreException",
    "CorruptObjectError",
    "ExperimentExecutionException",
    "ActivityFailedException",
    "StepRunFailed",
    "RunNotFound",
    "NotSupportedError",
    "RecordNotFound",
    "ApiError",
    "StepFailed",
    "SpecError",
    "AirflowApiError",
    "AzureMLException",
    "AuthenticationException",
    "AzureMLAggregatedException",
    "DatasetException",
    "DatasetTimestampMissingError",
    "DiscoveryUrlNotFoundException",
    "ModelNotFoundException",
    "ModelPathNotFoundException",
    "ParallelRunException",
    "ProjectSystemException",
    "RunConfigurationException",
    "RunEnvironmentException",
    "ServiceException",
    "SnapshotException",
    "TrainingException",
    "WebserviceException",
    "WorkspacePrivateEndpointException",
]


class AmlError(Exception):
    """Root of every error raised by airflow-aml."""


class UserErrorException(AmlError):
    """Bad user input (v1 name: ``azureml.exceptions.UserErrorException``)."""


class ValidationError(UserErrorException):
    """One validation problem, naming the step and the field it concerns."""

    def __init__(self, message: str, *, step: str | None = None, field: str | None = None):
        self.step = step
        self.field = field
        self.reason = message
        where = []
        if step is not None:
            where.append(f"step '{step}'")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class PipelineValidationError(UserErrorException):
    """A pipeline failed validation; ``errors`` lists every problem found."""

    def __init__(self, errors: list[ValidationError]):
        self.errors = list(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"Pipeline validation failed with {len(self.errors)} error(s):\n{lines}")


class ComputeTargetException(AmlError):
    """A compute target is missing or cannot be used (v1 name)."""


class WorkspaceException(AmlError):
    """A workspace could not be found or loaded (v1 name)."""


class DatastoreException(UserErrorException):
    """A datastore operation failed (missing file, refused overwrite, unknown name)."""


class CorruptObjectError(DatastoreException):
    """A stored object (a registry spec or record, a reuse-index entry, a snapshot file)
    exists but cannot be used: not UTF-8, not JSON of the expected shape, or content
    that does not match its digest. Names the object (``.location``: the store,
    ``.key``: the object in it) and ``.reason``; the message says how to repair it."""

    def __init__(self, message: str, *, location: str = "", key: str = "", reason: str = ""):
        self.location = location
        self.key = key
        self.reason = reason or message
        super().__init__(message)


class ExperimentExecutionException(AmlError):
    """A run could not be submitted or read back (v1 name)."""


class ActivityFailedException(AmlError):
    """A run ended in a failed state (v1 name, raised by ``wait_for_completion``)."""

    def __init__(self, message: str, *, run_id: str | None = None, status: str | None = None):
        self.run_id = run_id
        self.status = status
        super().__init__(message)


class StepRunFailed(ActivityFailedException):
    """A step of a pipeline run failed; names the step and carries its stderr tail."""

    def __init__(self, message: str, *, run_id: str, step_name: str, stderr_tail: str = ""):
        self.step_name = step_name
        self.stderr_tail = stderr_tail
        super().__init__(message, run_id=run_id, status="Failed")


class StepFailed(ActivityFailedException):
    """A step's own work failed inside its Airflow task (non-zero exit, missing script or
    input, canceled); carries the tail of its stderr. Raised by the step operators
    (``airflow_aml.operators``); the client sees the failure as :class:`StepRunFailed`."""

    def __init__(self, message: str, stderr_tail: str = ""):
        self.stderr_tail = stderr_tail
        super().__init__(
            message + (f"\n--- stderr (last lines) ---\n{stderr_tail}" if stderr_tail else ""),
            status="Failed",
        )


class RunNotFound(ExperimentExecutionException):
    """No run with the given id exists in the experiment/workspace."""


class NotSupportedError(UserErrorException):
    """A v1 call that airflow-aml does not support; the message names the alternative."""


class RecordNotFound(UserErrorException):
    """No published pipeline or pipeline endpoint with the given id in the workspace registry."""


class ApiError(UserErrorException):
    """Why an AML-compatible REST route refuses a request: an HTTP ``status`` (4xx, never
    a 500) and a ``reason``; the plugin's app answers with them as JSON."""

    def __init__(self, status: int, reason: str):
        self.status = status
        self.reason = reason
        super().__init__(reason)


# ----------------------------------------------------------------------------
# Further SDK v1 names (``azureml.exceptions``), so ported ``except`` clauses
# keep working. airflow-aml raises the ones that have a counterpart here; the
# others exist to be caught.

AzureMLException = AmlError
"""v1's root exception class is our root: ``except AzureMLException`` catches every error."""


class AuthenticationException(UserErrorException, WorkspaceException):
    """Credentials for the workspace's Airflow API are missing or refused (v1 name).

    Also a :class:`WorkspaceException`: the Airflow API of a workspace could not be used.
    """


class AzureMLAggregatedException(AmlError):
    """Several errors reported together (v1 name)."""


class DatasetException(UserErrorException):
    """A dataset operation failed (datasets are planned; see ``airflow_aml.core.Dataset``)."""


class DatasetTimestampMissingError(AmlError):
    """A time-series dataset has no timestamp column (v1 name)."""


class DiscoveryUrlNotFoundException(AmlError):
    """A service discovery URL was not found (v1 name)."""


class ModelNotFoundException(AmlError):
    """A registered model was not found (v1 name; there is no model registry here)."""


class ModelPathNotFoundException(AmlError):
    """A model path was not found (v1 name)."""


class ParallelRunException(AmlError):
    """A ParallelRunStep failed (v1 name)."""


class ProjectSystemException(AmlError):
    """A project (source folder / config) problem (v1 name)."""


class RunConfigurationException(AmlError):
    """A run configuration is invalid (v1 name)."""


class RunEnvironmentException(AmlError):
    """The run environment (``Run.get_context()``) is not usable (v1 name)."""


class ServiceException(AmlError):
    """A service answered with an error (v1 name; here: the Airflow API)."""


class SnapshotException(AmlError):
    """A source snapshot could not be taken (v1 name)."""


class TrainingException(AmlError):
    """A training run was misconfigured or failed (v1 name)."""


class WebserviceException(AmlError):
    """A web service operation failed (v1 name; web services are not supported here)."""


class WorkspacePrivateEndpointException(AmlError):
    """A workspace private endpoint problem (v1 name)."""


class SpecError(UserErrorException):
    """A stored pipeline spec is not valid (corrupt, truncated, or of another version)."""


class AirflowApiError(ExperimentExecutionException):
    """Airflow answered a REST call with an error: ``.status`` and Airflow's ``.reason``."""

    def __init__(self, what: str, status: int, body: Any):
        self.status = status
        if isinstance(body, bytes | bytearray):
            body = body.decode("utf-8", errors="replace")
        body = str(body or "")
        try:
            detail = json.loads(body).get("detail", body)
        except (ValueError, AttributeError):
            detail = body
        self.reason = (detail if isinstance(detail, str) else json.dumps(detail))[:500]
        super().__init__(f"Airflow API {what} failed ({status}): {self.reason}")
