"""PipelineData, PipelineStep and StepSequence (SDK v1 ``azureml.pipeline.core.builder``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airflow_aml.pipeline.core.graph import InputPortBinding

if TYPE_CHECKING:
    from airflow_aml.core.datastore import Datastore

__all__ = ["PipelineData", "PipelineStep", "StepSequence"]


class PipelineData:
    """Intermediate data: an output of one step consumed by others.

    Stored on a datastore at ``azureml/{step run id}/{output}`` (SDK v1's layout); XCom
    carries only its reference. Scripts see the path as an argument and as
    ``$AZUREML_DATAREFERENCE_<name>``.
    """

    def __init__(
        self,
        name: str,
        datastore: Datastore | None = None,
        output_name: str | None = None,
        output_mode: str = "mount",
        output_path_on_compute: str | None = None,
        output_overwrite: bool | None = None,
        data_type: str | None = None,
        is_directory: bool | None = None,
        pipeline_output_name: str | None = None,
        training_output: Any = None,
    ):
        self.name = name
        self.datastore = datastore
        self._output_name = output_name or name
        self._output_mode = output_mode
        self._output_path_on_compute = output_path_on_compute
        self._output_overwrite = output_overwrite
        self._data_type = data_type or "AnyFile"
        self._is_directory = is_directory
        self._pipeline_output_name = pipeline_output_name
        self._training_output = training_output
        self._producer: PipelineStep | None = None

    @property
    def output_name(self) -> str:
        """The output port name on the producing step."""
        return self._output_name

    @property
    def data_type(self) -> str:
        """The data type name (default ``AnyFile``)."""
        return self._data_type

    @property
    def producer(self) -> PipelineStep | None:
        """The step that writes this data (``None`` until a step lists it in ``outputs``).

        As in SDK v1 (``PipelineData._set_producer``) the last step constructed with
        this data as an output is its producer: re-running a notebook cell that
        rebuilds the steps makes the new steps the producers.
        """
        return self._producer

    def _set_producer(self, step: PipelineStep) -> None:
        self._producer = step

    def as_input(self, input_name: str) -> InputPortBinding:
        """Bind this data as an input named ``input_name`` (mount mode)."""
        return InputPortBinding(input_name, self, "mount")

    def as_mount(self, input_name: str | None = None) -> InputPortBinding:
        """Bind this data as an input read in place."""
        return InputPortBinding(input_name or self.name, self, "mount")

    def as_download(
        self,
        input_name: str | None = None,
        path_on_compute: str | None = None,
        overwrite: bool | None = None,
    ) -> InputPortBinding:
        """Bind this data as an input copied to the compute before the step runs."""
        return InputPortBinding(
            input_name or self.name, self, "download", path_on_compute, overwrite
        )

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.name}"

    def __repr__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.name}"


class PipelineStep:
    """Base of every step kind: name, inputs, outputs, arguments, ordering."""

    _kind = "PipelineStep"

    def __init__(
        self,
        name: str | None,
        inputs: Sequence[Any] | None = None,
        outputs: Sequence[Any] | None = None,
        arguments: Sequence[Any] | None = None,
        fix_port_name_collisions: bool = False,
        resource_inputs: Any = None,
    ):
        self.name = name
        self._inputs = list(inputs or [])
        self._outputs = list(outputs or [])
        self._arguments = list(arguments or [])
        self._run_after: list[PipelineStep] = []
        for out in self._outputs:
            if isinstance(out, PipelineData):
                out._set_producer(self)

    @property
    def inputs(self) -> list[Any]:
        """Inputs as given (bindings, PipelineData, DataReference, DataPath tuples)."""
        return list(self._inputs)

    @property
    def outputs(self) -> list[Any]:
        """Outputs as given."""
        return list(self._outputs)

    @property
    def arguments(self) -> list[Any]:
        """Command-line arguments as given."""
        return list(self._arguments)

    def run_after(self, step: PipelineStep) -> None:
        """Run this step after ``step`` even without a data dependency."""
        if step not in self._run_after:
            self._run_after.append(step)

    def _upstream_steps(self) -> list[PipelineStep]:
        """Steps this one depends on: producers of its inputs and ``run_after`` steps."""
        ups: list[PipelineStep] = []
        for inp in self._inputs:
            data = inp.bind_object if isinstance(inp, InputPortBinding) else inp
            if isinstance(data, PipelineData) and data.producer not in (None, self):
                ups.append(data.producer)  # type: ignore[arg-type]
        ups.extend(self._run_after)
        return ups

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class StepSequence:
    """Steps that run one after another; a list element is a group run in parallel."""

    def __init__(self, steps: Iterable[Any] | None = None):
        self._steps = list(steps or [])

    @property
    def steps(self) -> list[Any]:
        """The sequence elements (steps or lists of steps)."""
        return list(self._steps)
