"""The MLPerf Tiny keyword-spotting front end: 1 s of 16 kHz audio -> MFCC [49, 10, 1].

It follows the MLPerf Tiny KWS training code (benchmark/training/keyword_spotting,
``get_dataset.py``) step by step, because the reference DS-CNN only recognises words when
its input features are computed exactly the way it was trained:

1. the clip is scaled by its peak (``wav / reduce_max(wav)``; MLPerf divides by the
   maximum, not the maximum absolute value),
2. STFT with a 480-sample (30 ms) periodic Hann window, 320-sample (20 ms) step and a
   512-point FFT (``fft_length=None`` rounds 480 up), no end padding -> 49 frames,
3. magnitude, 40 mel bins from 20 Hz to 4 kHz (``tf.signal.linear_to_mel_weight_matrix``,
   HTK mel scale), ``log(mel + 1e-6)``,
4. ``tf.signal.mfccs_from_log_mel_spectrograms`` (orthonormal DCT-II), first 10 coefficients.

``quantize_features`` then maps the features onto the model's int8 input exactly as a
TFLite QUANTIZE would (round half away from zero, then clamp).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

__all__ = [
    "MLPERF_KWS",
    "MfccSettings",
    "mfcc_features",
    "model_input_quantization",
    "normalize_peak",
    "quantize_features",
]


@dataclasses.dataclass(frozen=True)
class MfccSettings:
    sample_rate: int = 16000
    clip_samples: int = 16000
    window_samples: int = 480
    stride_samples: int = 320
    fft_length: int = 512
    mel_bins: int = 40
    lower_hz: float = 20.0
    upper_hz: float = 4000.0
    log_offset: float = 1e-6
    coefficients: int = 10

    @property
    def frames(self) -> int:
        return 1 + (self.clip_samples - self.window_samples) // self.stride_samples

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        return (self.frames, self.coefficients, 1)


#: The MLPerf Tiny KWS settings (16 kHz, 1 s, 30 ms / 20 ms, 40 mel bins 20-4000 Hz, 10 MFCCs).
MLPERF_KWS = MfccSettings()


def normalize_peak(wav):
    """MLPerf's loudness normalisation: divide by the clip's maximum (guarded against an all-zero clip)."""
    import tensorflow as tf

    wav = tf.convert_to_tensor(wav, tf.float32)
    return wav / tf.maximum(tf.reduce_max(wav, axis=-1, keepdims=True), 1e-9)


def mfcc_features(wav, settings: MfccSettings = MLPERF_KWS, normalize: bool = True):
    """float32 audio [..., clip_samples] in [-1, 1] -> MFCC features [..., frames, coefficients, 1]."""
    import tensorflow as tf

    wav = tf.convert_to_tensor(wav, tf.float32)
    if normalize:
        wav = normalize_peak(wav)
    stft = tf.signal.stft(
        wav,
        frame_length=settings.window_samples,
        frame_step=settings.stride_samples,
        fft_length=settings.fft_length,
        window_fn=tf.signal.hann_window,
    )
    magnitude = tf.abs(stft)
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        settings.mel_bins, settings.fft_length // 2 + 1, settings.sample_rate, settings.lower_hz, settings.upper_hz
    )
    mel = tf.tensordot(magnitude, mel_matrix, 1)
    log_mel = tf.math.log(mel + settings.log_offset)
    mfccs = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., : settings.coefficients]
    return mfccs[..., tf.newaxis]


def quantize_features(features, scale: float, zero_point: int) -> np.ndarray:
    """Features -> int8, as TFLite's QUANTIZE: round(x / scale) half away from zero, + zero point, clamp.

    The division is done in float32, as the TFLite Micro kernel does it.
    """
    x = np.asarray(features, dtype=np.float32) / np.float32(scale)
    rounded = np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))
    return np.clip(rounded + zero_point, -128, 127).astype(np.int8)


def model_input_quantization(model: bytes | str | os.PathLike[str], index: int = 0) -> tuple[float, int]:
    """(scale, zero point) of an int8 model's input ``index``, read from the .tflite file or its bytes."""
    from tinyengine_gen.frontend.reader import read_model_bytes

    source = "<bytes>"
    if not isinstance(model, (bytes, bytearray)):
        source = os.fspath(model)
        with open(source, "rb") as handle:
            model = handle.read()
    graph = read_model_bytes(bytes(model), source=source)
    tensor = graph.tensor(graph.inputs[index])
    if tensor.quant is None or tensor.dtype.value != "int8":
        raise ValueError(f"{source}: input {index} ({tensor.describe()}) is not an int8 quantised tensor")
    return float(tensor.quant.scale), int(tensor.quant.zero_point)
