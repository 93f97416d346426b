"""What the operators with state share (SVDF, UNIDIRECTIONAL_SEQUENCE_LSTM).

Their state lives in variable tensors among the operator's inputs, carried from one invoke
to the next: the kernel reads each state and writes it back in place, so the numpy
reference returns the new states as outputs too, under the state tensors' indices (the
compiler keeps the states in arena bytes no other tensor reuses, and ``te_reset()`` clears
them). Each plan also has a batch, an input width and the input's zero point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tinyengine_gen.ir import Operator, Tensor
from tinyengine_gen.ops.base import OpChecker

__all__ = ["StatefulPlan", "stateful_fields", "variable_state"]


class StatefulPlan:
    """Base of the plans with state. Subclasses are frozen dataclasses declaring every field,
    the ones :func:`stateful_fields` fills among them; this base adds no field."""

    outputs: tuple[int, ...]

    @property
    def aliases(self) -> tuple[tuple[int, int], ...]:
        return ()

    @property
    def state_tensors(self) -> tuple[int, ...]:
        """The state tensors' indices, in the order :meth:`step_reference` returns them."""
        raise NotImplementedError

    def step_reference(self, values: Mapping[int, np.ndarray]) -> tuple[np.ndarray, ...]:
        """The numpy reference of one invoke: (output, each new state)."""
        raise NotImplementedError

    def reference(self, values: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        output, *states = self.step_reference(values)
        return {self.outputs[0]: output, **dict(zip(self.state_tensors, states))}


def stateful_fields(
    op: Operator, inputs: tuple[int, ...], output: Tensor, batch: int, n_input: int, input_zero_point: int
) -> dict[str, Any]:
    """The fields of :class:`StatefulPlan`, for a subclass's constructor."""
    return {
        "op_index": op.index,
        "inputs": inputs,
        "outputs": (output.index,),
        "batch": batch,
        "n_input": n_input,
        "input_zero_point": input_zero_point,
    }


def variable_state(check: OpChecker, tensor: Tensor, what: str) -> Tensor:
    """``tensor``, checked to be a variable tensor: the state ``what`` the kernel keeps."""
    if not tensor.is_variable:
        raise check.unsupported(f"{tensor.describe()} (the {what}) must be a variable tensor.")
    return tensor
