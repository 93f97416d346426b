"""Every image's leading bytes are checked before a dataset is built, naming the first file TensorFlow cannot decode."""

from __future__ import annotations

import pytest
from mcunet_datasets.errors import DatasetLayoutError
from mcunet_datasets.headers import check_headers, image_header_problem
from mcunet_datasets.imagenet import imagenet_folder_dataset
from mcunet_datasets.vww import vww_folder_dataset

from tests.mcunet_datasets.fixtures import make_imagenet, make_vww_folders, write_image


def test_the_formats_decode_image_reads_pass_and_others_are_named(tmp_path):
    for name in ("a.jpg", "b.png", "c.bmp"):
        path = tmp_path / name
        if name.endswith(".bmp"):
            path.write_bytes(b"BM" + bytes(60))
        else:
            write_image(path)
        assert image_header_problem(str(path)) is None
    (tmp_path / "webp.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    assert image_header_problem(str(tmp_path / "webp.webp")) is None
    (tmp_path / "html.jpg").write_text("<html>404 Not Found</html>")
    assert "html.jpg: not an image" in image_header_problem(str(tmp_path / "html.jpg"))
    assert "missing.jpg: No such file" in image_header_problem(str(tmp_path / "missing.jpg"))


def test_the_first_bad_file_in_path_order_is_named(tmp_path):
    paths = [str(tmp_path / f"{i:03d}.x") for i in range(200)]
    bad = {paths[150], paths[42]}
    with pytest.raises(DatasetLayoutError, match=r"042.x: bad \(every file is checked before training\)"):
        check_headers(paths[::-1], lambda p: f"{p}: bad" if p in bad else None)
    check_headers(paths, lambda p: None)


@pytest.mark.parametrize("split", ["train", "val"])
def test_a_vww_file_that_is_not_an_image_is_named_whatever_the_split(tmp_path, split):
    root = make_vww_folders(tmp_path / "vww")
    (root / "person" / "p9.jpg").write_bytes(b"\x00" * 64)  # e.g. a download cut short
    with pytest.raises(DatasetLayoutError, match=r"person/p9.jpg: not an image"):
        vww_folder_dataset(root, split, resolution=16)


def test_an_imagenet_file_that_is_not_an_image_is_named(tmp_path):
    root = make_imagenet(tmp_path / "imagenet")
    (root / "val" / "n01443537" / "ILSVRC2012_val_bad.JPEG").write_text("truncated")
    imagenet_folder_dataset(root, "train", resolution=16)
    with pytest.raises(DatasetLayoutError, match=r"ILSVRC2012_val_bad.JPEG: not an image"):
        imagenet_folder_dataset(root, "val", resolution=16)
