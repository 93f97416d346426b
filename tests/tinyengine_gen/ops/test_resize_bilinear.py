"""RESIZE_BILINEAR: generated C and numpy against TFLite Micro, bit for bit."""

import numpy as np
import pytest

from tests.harness import compile_and_compare
from tests.model_factory import tf
from tests.tinyengine_gen.ops._quant_models import convert_fn
from tinyengine_gen.frontend.reader import read_model_bytes
from tinyengine_gen.ops.resize_bilinear import bilinear_source_positions


def _resize(size, align_corners, half_pixel_centers):
    def fn(x):
        return tf.raw_ops.ResizeBilinear(
            images=x, size=size, align_corners=align_corners, half_pixel_centers=half_pixel_centers
        )

    return fn


@pytest.mark.parametrize(
    "in_hw,out_hw,align_corners,half_pixel_centers",
    [
        pytest.param((4, 5), (8, 10), False, False, marks=pytest.mark.slow),  # 2x up
        ((3, 5), (7, 11), False, True),  # non-integer up, half-pixel centres (Keras UpSampling2D bilinear)
        pytest.param((9, 11), (4, 3), False, True, marks=pytest.mark.slow),  # down
        ((4, 5), (7, 9), True, False),  # align corners
        pytest.param((1, 6), (3, 1), True, False, marks=pytest.mark.slow),  # one input row, one output column
    ],
)
def test_resize_bilinear_bit_exact(tmp_path, in_hw, out_hw, align_corners, half_pixel_centers):
    model = convert_fn(_resize(out_hw, align_corners, half_pixel_centers), (*in_hw, 3), low=-1.0, high=1.5)
    (op,) = read_model_bytes(model).operators
    assert op.opcode == "RESIZE_BILINEAR"
    options = (bool(op.options.get("alignCorners")), bool(op.options.get("halfPixelCenters")))
    assert options == (align_corners, half_pixel_centers)
    compile_and_compare(model, tmp_path, trials=10)


def test_source_positions_follow_tflm_integer_scale():
    table = bilinear_source_positions(4, 8, False, False)
    assert table[:, 2].tolist() == [512 * o for o in range(8)]  # scale 1024 * 4 / 8
    assert table[:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3] and table[-1, 1] == 3
    centred = bilinear_source_positions(3, 7, False, True)
    assert centred[0, 2] < 0 and centred[0, 0] == 0  # the first position lies before the first pixel: clamped
    assert np.all(centred[:, 1] <= 2)
