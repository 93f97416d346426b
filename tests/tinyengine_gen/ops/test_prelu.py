"""PRELU: generated C and numpy against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_int8, keras
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.prelu import plan_prelu


def _prelu_model(shape, shared_axes, per_channel, alpha_range=(-0.5, 0.8)):
    def build():
        x = keras.Input(shape, batch_size=1)
        layer = keras.layers.PReLU(shared_axes=shared_axes)
        y = layer(x)
        rng = np.random.default_rng(3)
        layer.set_weights([rng.uniform(*alpha_range, layer.get_weights()[0].shape).astype(np.float32)])
        return keras.Model(x, y)

    return convert_int8(build, per_channel=per_channel, spread=2.0)


@pytest.mark.parametrize(
    "shape,shared_axes,per_channel",
    [
        ((5, 7, 6), [1, 2], True),  # alpha per channel [1, 1, 6]: the usual PReLU
        pytest.param((5, 7, 6), [1, 2], False, marks=pytest.mark.slow),
        pytest.param((4, 3, 5), None, True, marks=pytest.mark.slow),  # alpha of the input's full shape
        pytest.param((40,), None, True, marks=pytest.mark.slow),  # after a dense layer
    ],
)
def test_prelu_bit_exact(tmp_path, shape, shared_axes, per_channel):
    model = _prelu_model(shape, shared_axes, per_channel)
    graph = read_model_bytes(model)
    (op,) = [op for op in graph.operators if op.opcode == "PRELU"]
    assert graph.tensor(op.inputs[1]).is_constant
    compile_and_compare(model, tmp_path, trials=10)


def test_prelu_branches_use_their_own_multipliers():
    graph = read_model_bytes(_prelu_model((5, 7, 6), [1, 2], True))
    plan = plan_prelu(graph, graph.operators[0])
    assert (plan.output_multiplier_1, plan.output_shift_1) != (plan.output_multiplier_2, plan.output_shift_2)
    assert plan.nest.step2[-1] == 1 and plan.nest.step2[0] == 0  # alpha walks the channels, repeats per pixel
