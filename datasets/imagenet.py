"""ImageNet in its two common on-disk forms: class folders and TFRecord shards.

* Class folders: ``ROOT/train/<synset>/*.JPEG`` and ``ROOT/val/<synset>/*.JPEG``. Labels
  are the index of the synset in the sorted list of ``train/`` folders, so train and val
  agree (the val folder may hold a subset of the classes, never an extra one).
* TFRecord shards (``train-00000-of-01024`` ...), each record holding ``image/encoded``
  (JPEG bytes) and ``image/class/label`` (int64). Shards written by the TF-slim/Inception
  scripts number classes from 1 (0 was "background"): pass ``label_offset=-1`` for those.

Training uses the Inception crop (random box of 8-100 % of the area, aspect 3/4-4/3) and a
horizontal flip; evaluation resizes the shorter side to R / 0.875 and takes the central
R x R. Elements are (image float32 [R, R, 3] in [0, 1], label int32).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from mcunet_datasets.errors import DatasetLayoutError
from mcunet_datasets.headers import check_headers, image_header_problem
from mcunet_datasets.image_ops import center_crop, decode_image, random_flip, random_resized_crop, split_seed
from mcunet_datasets.layout import IMAGE_EXTENSIONS, list_files, require_dir
from mcunet_datasets.pipeline import example_dataset

__all__ = [
    "IMAGENET_FOLDER_LAYOUT",
    "IMAGENET_TFRECORD_FEATURES",
    "imagenet_classes",
    "imagenet_folder_dataset",
    "imagenet_folder_examples",
    "imagenet_tfrecord_dataset",
    "preprocess_image",
]

IMAGENET_FOLDER_LAYOUT = (
    "the ImageNet class-folder layout (train/ and val/, each with one folder per synset, e.g. n01440764/)"
)
IMAGENET_TFRECORD_FEATURES = ("image/encoded", "image/class/label")
SPLITS = ("train", "val")


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


def imagenet_classes(root: str | os.PathLike[str]) -> list[str]:
    """Synset folder names of ``root/train`` (or of ``root/val`` when there is no train/), sorted."""
    folder = require_dir(root, IMAGENET_FOLDER_LAYOUT)
    source = folder / "train" if (folder / "train").is_dir() else require_dir(folder / "val", IMAGENET_FOLDER_LAYOUT)
    classes = sorted(p.name for p in source.iterdir() if p.is_dir())
    if not classes:
        raise DatasetLayoutError(f"{source}: no class folders; expected {IMAGENET_FOLDER_LAYOUT}")
    return classes


def imagenet_folder_examples(root: str | os.PathLike[str], split: str = "train") -> list[tuple[str, int]]:
    """(path, label) of every image in ``root/split``, sorted by path."""
    _check_split(split)
    classes = imagenet_classes(root)
    index = {name: i for i, name in enumerate(classes)}
    split_dir = require_dir(Path(root) / split, IMAGENET_FOLDER_LAYOUT)
    examples = []
    for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
        if class_dir.name not in index:
            raise DatasetLayoutError(
                f"{class_dir}: class {class_dir.name} is not among the {len(classes)} train/ classes"
            )
        examples += [(str(p), index[class_dir.name]) for p in list_files(class_dir, IMAGE_EXTENSIONS)]
    if not examples:
        raise DatasetLayoutError(f"{split_dir}: no images in its class folders; expected {IMAGENET_FOLDER_LAYOUT}")
    return examples


def preprocess_image(encoded, resolution: int, training: bool, seed):
    """Encoded image -> float32 [R, R, 3] in [0, 1] (Inception crop + flip, or the 0.875 centre crop)."""
    import tensorflow as tf

    image = decode_image(encoded, 3)
    if training:
        image = random_resized_crop(image, resolution, split_seed(seed, 0))
        image = random_flip(image, split_seed(seed, 1))
    else:
        image = center_crop(image, resolution)
    return tf.clip_by_value(image, 0.0, 1.0)


def imagenet_folder_dataset(
    root: str | os.PathLike[str],
    split: str = "train",
    *,
    resolution: int = 224,
    seed: int = 0,
    augment: bool | None = None,
    batch_size: int | None = None,
):
    """(image, label) from the class-folder layout; train is shuffled and augmented by default."""
    examples = imagenet_folder_examples(root, split)
    training = split == "train" if augment is None else augment

    def load(path, label, example_seed):
        import tensorflow as tf

        return preprocess_image(tf.io.read_file(path), resolution, training, example_seed), tf.cast(label, tf.int32)

    columns = ([p for p, _ in examples], [label for _, label in examples])
    check_headers(columns[0], image_header_problem)
    return example_dataset(columns, load, shuffle=split == "train", seed=seed, batch_size=batch_size)


def _shard_files(pattern: str | os.PathLike[str]) -> list[str]:
    pattern = os.fspath(pattern)
    files = sorted(glob.glob(os.path.join(pattern, "*"))) if os.path.isdir(pattern) else sorted(glob.glob(pattern))
    if not files:
        raise DatasetLayoutError(
            f"{pattern}: no TFRecord shards found; expected files such as train-00000-of-01024 holding "
            f"{' and '.join(IMAGENET_TFRECORD_FEATURES)} features"
        )
    return files


def imagenet_tfrecord_dataset(
    pattern: str | os.PathLike[str],
    *,
    training: bool,
    resolution: int = 224,
    seed: int = 0,
    label_offset: int = 0,
    batch_size: int | None = None,
):
    """(image, label + label_offset) from TFRecord shards (a glob pattern or a folder of shards)."""
    import tensorflow as tf
    from mcunet_datasets.image_ops import seed_stream

    files = _shard_files(pattern)
    spec = {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "image/class/label": tf.io.FixedLenFeature([], tf.int64),
    }
    shards = tf.data.Dataset.from_tensor_slices(files)
    if training:
        shards = shards.shuffle(len(files), seed=seed)
    if training:
        records = shards.interleave(tf.data.TFRecordDataset, cycle_length=min(8, len(files)), deterministic=True)
        records = records.shuffle(1024, seed=seed)
    else:  # evaluation reads the shards one after another: records come out in file order
        records = tf.data.TFRecordDataset(shards)

    def load(record, example_seed):
        example = tf.io.parse_single_example(record, spec)
        image = preprocess_image(example["image/encoded"], resolution, training, example_seed)
        return image, tf.cast(example["image/class/label"] + label_offset, tf.int32)

    data = tf.data.Dataset.zip((records, seed_stream(seed))).map(load, num_parallel_calls=tf.data.AUTOTUNE)
    if batch_size:
        data = data.batch(batch_size)
    return data.prefetch(tf.data.AUTOTUNE)
