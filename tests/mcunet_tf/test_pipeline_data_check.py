"""The pipeline's up-front data check reaches every training clip, not just one validation example."""

from __future__ import annotations

import numpy as np
import pytest

from mcunet_tf.pipeline import PipelineError, check_data, make_options
from tests.mcunet_datasets.fixtures import make_speech_commands, write_wav


def test_an_8_khz_training_clip_is_refused_before_any_work(tmp_path):
    root = make_speech_commands(tmp_path / "sc")
    write_wav(root / "go" / "zz_slow.wav", np.zeros(8000), sample_rate=8000)  # a training clip (in no list file)
    with pytest.raises(PipelineError, match=r"not a readable kws dataset .*go/zz_slow.wav: 8000 Hz, 16-bit; expected"):
        check_data(make_options("kws", budget="tiny", data_dir=str(root)))
