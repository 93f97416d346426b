"""Visual Wake Words: "is there a person in this image?", in the layouts its users have.

Two sources give the same examples (an image path and a label, 1 = person):

* the MLPerf Tiny folder layout, ``ROOT/person/*.jpg`` and ``ROOT/non_person/*.jpg`` (what
  the MLPerf VWW training script reads), and
* COCO 2014 images with their instance annotations (``instances_train2014.json``), labelled
  with the Visual Wake Words definition (Chowdhery et al. 2019): 1 if any person box covers
  at least 0.5 % of the image area, else 0. ``write_vww_folders`` turns these into the
  MLPerf layout once, so later runs need not parse the 450 MB JSON again.

Images become float32 [R, R, C] in [0, 1], RGB or grayscale. Training examples get a mild
random zoom and a horizontal flip (MLPerf's recipe also rotates and shifts slightly).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mcunet_datasets.errors import DatasetLayoutError
from mcunet_datasets.headers import check_headers, image_header_problem
from mcunet_datasets.image_ops import channels_for, decode_image, random_flip, random_zoom_crop, resize, split_seed
from mcunet_datasets.layout import IMAGE_EXTENSIONS, list_files, require_dir, split_train_val
from mcunet_datasets.pipeline import example_dataset

__all__ = [
    "PERSON_AREA_THRESHOLD",
    "VWW_CLASSES",
    "VWW_LAYOUT",
    "VwwExample",
    "coco_person_labels",
    "coco_vww_dataset",
    "coco_vww_examples",
    "vww_dataset",
    "vww_folder_dataset",
    "vww_folder_examples",
    "write_vww_folders",
]

#: Folder names in label order: label 0 is non_person, label 1 is person (as MLPerf's sorted folders give).
VWW_CLASSES = ("non_person", "person")
VWW_LAYOUT = "the MLPerf Tiny VWW layout (person/ and non_person/ folders of images)"
COCO_LAYOUT = "COCO instance annotations (a JSON object with 'images', 'annotations' and 'categories')"
#: A person box must cover at least this fraction of the image for the label to be "person".
PERSON_AREA_THRESHOLD = 0.005
SPLITS = ("train", "val")


@dataclasses.dataclass(frozen=True, order=True)
class VwwExample:
    path: str
    label: int


def vww_folder_examples(root: str | os.PathLike[str]) -> list[VwwExample]:
    """Every image under ``root/person`` and ``root/non_person``, sorted by path."""
    folder = require_dir(root, VWW_LAYOUT)
    examples = []
    for label, name in enumerate(VWW_CLASSES):
        images = list_files(require_dir(folder / name, VWW_LAYOUT), IMAGE_EXTENSIONS)
        if not images:
            raise DatasetLayoutError(
                f"{folder / name}: no images ({', '.join(IMAGE_EXTENSIONS)}); expected {VWW_LAYOUT}"
            )
        examples += [VwwExample(str(p), label) for p in images]
    return sorted(examples)


def _field(record: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(record, Mapping) or key not in record:
        raise DatasetLayoutError(f"{where}: missing '{key}'; expected {COCO_LAYOUT}")
    return record[key]


def coco_person_labels(
    annotations: Mapping[str, Any], source: str = "<annotations>", area_threshold: float = PERSON_AREA_THRESHOLD
) -> dict[str, int]:
    """Image file name -> VWW label, from a parsed COCO instances JSON."""
    categories = _field(annotations, "categories", source)
    person_ids = {_field(c, "id", f"{source} categories") for c in categories if c.get("name") == "person"}
    if not person_ids:
        raise DatasetLayoutError(f"{source}: no category named 'person'; expected {COCO_LAYOUT}")
    images = {}
    for image in _field(annotations, "images", source):
        where = f"{source} images"
        area = float(_field(image, "width", where)) * float(_field(image, "height", where))
        images[_field(image, "id", where)] = (_field(image, "file_name", where), area)
    labels = {name: 0 for name, _ in images.values()}
    for box in _field(annotations, "annotations", source):
        where = f"{source} annotations"
        if _field(box, "category_id", where) not in person_ids:
            continue
        image_id = _field(box, "image_id", where)
        if image_id not in images:
            raise DatasetLayoutError(f"{source}: annotation for image id {image_id}, which is not in 'images'")
        name, area = images[image_id]
        _, _, width, height = _field(box, "bbox", where)
        if area > 0 and float(width) * float(height) >= area_threshold * area:
            labels[name] = 1
    return labels


def coco_vww_examples(
    images_dir: str | os.PathLike[str],
    annotations_file: str | os.PathLike[str],
    area_threshold: float = PERSON_AREA_THRESHOLD,
) -> list[VwwExample]:
    """VWW examples for every image the COCO JSON lists; each image must be in ``images_dir``."""
    folder = require_dir(images_dir, "a folder of COCO images (e.g. train2014/)")
    path = Path(annotations_file)
    if not path.is_file():
        raise DatasetLayoutError(f"{path}: not found; expected {COCO_LAYOUT} (e.g. instances_train2014.json)")
    try:
        annotations = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetLayoutError(f"{path}: not valid JSON ({exc}); expected {COCO_LAYOUT}") from exc
    labels = coco_person_labels(annotations, str(path), area_threshold)
    missing = sorted(name for name in labels if not (folder / name).is_file())
    if missing:
        raise DatasetLayoutError(
            f"{folder}: {len(missing)} of the {len(labels)} images listed in {path.name} are missing "
            f"(first: {missing[0]}); expected the COCO images that the annotations describe"
        )
    return sorted(VwwExample(str(folder / name), label) for name, label in labels.items())


def write_vww_folders(examples: Sequence[VwwExample], out_dir: str | os.PathLike[str]) -> Path:
    """Copy (hard-link where possible) examples into the MLPerf layout under ``out_dir``."""
    root = Path(out_dir)
    for name in VWW_CLASSES:
        (root / name).mkdir(parents=True, exist_ok=True)
    for example in examples:
        source = Path(example.path)
        target = root / VWW_CLASSES[example.label] / source.name
        if target.exists():
            continue
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    return root


def _split(examples: Sequence[VwwExample], split: str, val_fraction: float, seed: int) -> list[VwwExample]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    train, val = split_train_val(sorted(examples), val_fraction, seed)
    return train if split == "train" else val


def vww_dataset(
    examples: Sequence[VwwExample],
    split: str = "train",
    *,
    resolution: int = 96,
    color: str = "rgb",
    val_fraction: float = 0.1,
    seed: int = 0,
    augment: bool | None = None,
    batch_size: int | None = None,
):
    """(image float32 [R, R, C] in [0, 1], label int32) for one split of ``examples``.

    ``augment`` defaults to True for train and False for val; train is shuffled.
    """
    channels = channels_for(color)
    chosen = _split(examples, split, val_fraction, seed)
    augment = split == "train" if augment is None else augment

    def load(path, label, example_seed):
        import tensorflow as tf

        image = decode_image(tf.io.read_file(path), channels)
        if augment:
            image = random_zoom_crop(image, resolution, split_seed(example_seed, 0))
            image = random_flip(image, split_seed(example_seed, 1))
        else:
            image = resize(image, resolution)
        return tf.clip_by_value(image, 0.0, 1.0), tf.cast(label, tf.int32)

    columns = ([e.path for e in chosen], [e.label for e in chosen])
    check_headers([e.path for e in examples], image_header_problem)  # both splits: a bad file fails either
    return example_dataset(columns, load, shuffle=split == "train", seed=seed, batch_size=batch_size)


def vww_folder_dataset(root: str | os.PathLike[str], split: str = "train", **options: Any):
    """``vww_dataset`` over the MLPerf folder layout at ``root``."""
    return vww_dataset(vww_folder_examples(root), split, **options)


def coco_vww_dataset(
    images_dir: str | os.PathLike[str], annotations_file: str | os.PathLike[str], split: str = "train", **options: Any
):
    """``vww_dataset`` over COCO images labelled with the VWW definition."""
    return vww_dataset(coco_vww_examples(images_dir, annotations_file), split, **options)
