"""The pipeline's agreement check: the C must give TFLite Micro's bytes on every example; the
TFLite interpreter's labels must also agree where it ran its reference kernels, and are only
recorded where it fell back to its builtin kernels (4-bit QAT's INT4 depthwise filters)."""

import pytest

from mcunet_tf.pipeline_steps.deploy import Agreement


@pytest.mark.parametrize(
    "labels, tflm_bytes, kernels, exact",
    [
        (10, 10, "reference", True),
        (8, 10, "reference", False),
        (8, 10, "builtin", True),
        (10, 9, "builtin", False),
        (10, 9, "reference", False),
    ],
)
def test_labels_are_required_only_from_the_reference_kernels(labels, tflm_bytes, kernels, exact):
    agreement = Agreement(10, 0.9, 0.9, labels, tflm_bytes, 5, kernels)
    assert agreement.exact is exact
    assert agreement.to_dict()["tflite_kernels"] == kernels
