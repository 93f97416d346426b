"""RESIZE_NEAREST_NEIGHBOR: generated C and the numpy reference against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import convert_function, convert_int8, keras, tf
from tinyengine_gen.errors import UnsupportedOperatorError
from tinyengine_gen.ir import DType, Graph, Operator, Tensor
from tinyengine_gen.ops.resize_nearest import nearest_source_indices, plan_resize_nearest
from tinyengine_gen.frontend.reader import read_model_bytes


def _resize_options(model: bytes) -> tuple[bool, bool]:
    (op,) = read_model_bytes(model).operators
    assert op.opcode == "RESIZE_NEAREST_NEIGHBOR"
    return bool(op.options.get("alignCorners")), bool(op.options.get("halfPixelCenters"))


def _resize(align_corners, half_pixel_centers, size):
    def fn(x):
        return tf.raw_ops.ResizeNearestNeighbor(
            images=x, size=size, align_corners=align_corners, half_pixel_centers=half_pixel_centers
        )

    return fn


CASES = [
    # input (h, w), output (h, w), align_corners, half_pixel_centers
    ((4, 5), (8, 10), False, False),  # 2x up
    ((3, 5), (7, 8), False, False),  # non-integer up
    ((9, 11), (4, 3), False, False),  # down
    ((4, 5), (8, 10), False, True),
    ((3, 5), (7, 11), False, True),
    ((9, 11), (5, 3), False, True),
    ((5, 4), (2, 9), False, True),  # down in height, up in width
    ((3, 5), (5, 9), True, False),  # exact .5 positions: rounding goes away from zero
    ((4, 7), (9, 3), True, False),
    ((5, 6), (1, 1), True, False),  # align_corners with a one-pixel output uses in/out
    ((14, 6), (23, 37), False, True),  # float32 index arithmetic differs from exact (see below)
    ((26, 7), (22, 5), False, False),
]


@pytest.mark.parametrize("in_hw,out_hw,align_corners,half_pixel_centers", CASES)
def test_resize_nearest_int8_bit_exact(tmp_path, in_hw, out_hw, align_corners, half_pixel_centers):
    model = convert_function(_resize(align_corners, half_pixel_centers, out_hw), (2, *in_hw, 3))
    assert _resize_options(model) == (align_corners, half_pixel_centers)
    compile_and_compare(model, tmp_path, trials=2)


def test_resize_nearest_image_resize_half_pixel(tmp_path):
    model = convert_function(lambda x: tf.image.resize(x, (11, 6), method="nearest"), (1, 7, 5, 4))
    assert _resize_options(model) == (False, True)
    compile_and_compare(model, tmp_path, trials=2)


@pytest.mark.parametrize("size", [2, (3, 2)])
def test_resize_nearest_keras_upsampling_between_convs(tmp_path, size):
    def build():
        inputs = keras.Input((5, 7, 3), batch_size=1)
        x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
        x = keras.layers.UpSampling2D(size, interpolation="nearest")(x)
        return keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(x))

    model = convert_int8(build)
    assert "RESIZE_NEAREST_NEIGHBOR" in [op.opcode for op in read_model_bytes(model).operators]
    compile_and_compare(model, tmp_path, trials=2)


def test_resize_nearest_float32_bit_exact(tmp_path):
    model = convert_function(_resize(False, True, (7, 9)), (1, 3, 5, 2), int8=False)
    assert _resize_options(model) == (False, True)
    compile_and_compare(model, tmp_path, trials=2)


def test_resize_nearest_index_table_uses_float32():
    # TFLM computes source indices in float32; these entries differ from exact (and float64) arithmetic.
    assert nearest_source_indices(6, 37, False, True)[18] == 2  # exactly 3.0, float32 gives 2.99999
    assert nearest_source_indices(14, 23, False, True)[11] == 6
    assert nearest_source_indices(26, 22, False, False)[11] == 12
    assert nearest_source_indices(3, 5, True, False).tolist() == [0, 1, 1, 2, 2]  # 0.5 and 1.5 round up
    assert nearest_source_indices(4, 8, False, True).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def _ir_resize(x_shape, size_data, out_shape) -> Graph:
    size = None if size_data is None else np.array(size_data, dtype=np.int32)
    tensors = (
        Tensor(0, "x", x_shape, DType.INT8),
        Tensor(1, "size", (2,), DType.INT32, data=size),
        Tensor(2, "y", out_shape, DType.INT8),
    )
    op = Operator(0, "RESIZE_NEAREST_NEIGHBOR", (0, 1), (2,), {"alignCorners": False, "halfPixelCenters": False})
    return Graph(tensors, (op,), (0,), (2,), source="bad.tflite")


def test_resize_nearest_rejects_dynamic_size():
    graph = _ir_resize((1, 4, 4, 2), None, (1, 8, 8, 2))
    with pytest.raises(UnsupportedOperatorError, match=r"bad.tflite: operator 0 \(RESIZE_NEAREST_NEIGHBOR\).*size"):
        plan_resize_nearest(graph, graph.operators[0])


def test_resize_nearest_rejects_rank3():
    graph = _ir_resize((4, 4, 2), (8, 8), (8, 8, 2))
    with pytest.raises(UnsupportedOperatorError, match=r"operator 0 \(RESIZE_NEAREST_NEIGHBOR\).*rank 3"):
        plan_resize_nearest(graph, graph.operators[0])
