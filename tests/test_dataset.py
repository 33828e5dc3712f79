"""Reading TAO datasets: labels paired with their images, bad label files refused with their
names, unreadable images counted rather than silently dropped, characters lists checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lpr_ray.cli.main import main
from lpr_ray.core.charset import US, Charset
from lpr_ray.core.dataset import list_tao, load_tao
from lpr_ray.core.errors import LprRayError
from lpr_ray.synth import write_dataset


@pytest.fixture(scope="module")
def plates(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tao") / "d"
    write_dataset(str(root), 8, seed=11, workers=1, progress=None)
    return root


def _copy(plates: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "d"
    shutil.copytree(plates, dst)
    return dst


def _labels(root: Path) -> dict[str, str]:
    return {p.stem: p.read_text().strip() for p in (root / "labels").glob("*.txt")}


def test_byte_order_marks_are_not_part_of_labels_or_characters(plates, tmp_path):
    """Windows editors write a BOM: it made every label one character longer (0% accuracy)
    and the characters list's class 0 the two-character '\\ufeff0'."""
    d = _copy(plates, tmp_path)
    for p in (d / "labels").glob("*.txt"):
        p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    got = {Path(s.uri).stem: s.label for s in list_tao(str(d), US)}
    assert got == _labels(plates)
    assert Charset.from_text("\ufeff" + US.to_text()) == US
    with pytest.raises(LprRayError, match="not one character"):
        Charset.from_text("0\n1\nAB\n")


def test_labels_pair_with_images_by_path_not_by_file_name(tmp_path):
    """Two cameras' folders both holding 0001: each image gets its own folder's label."""
    for cam, text in (("cam1", "ABC123"), ("cam2", "XYZ789")):
        (tmp_path / "images" / cam).mkdir(parents=True)
        (tmp_path / "labels" / cam).mkdir(parents=True)
        shutil.copy(next(Path(__file__).parent.glob("*.py")), tmp_path / "images" / cam / "0001.png")
        (tmp_path / "labels" / cam / "0001.txt").write_text(text + "\n")
    got = {Path(s.uri).parent.name: s.label for s in list_tao(str(tmp_path), US)}
    assert got == {"cam1": "ABC123", "cam2": "XYZ789"}


@pytest.mark.parametrize(
    "content, says",
    [(b"", "empty"), (b"\n  \n", "empty"), (b"AB$12#\n", "['#', '$']"), (b"\xc4BC123", "not UTF-8")],
)
def test_unusable_label_files_are_refused_with_their_names(plates, tmp_path, content, says):
    d = _copy(plates, tmp_path)
    (d / "labels" / "000003.txt").write_bytes(content)
    with pytest.raises(LprRayError) as err:
        list_tao(str(d), US)
    assert "000003.txt" in str(err.value) and says in str(err.value)


def test_images_left_out_are_counted_by_reason(plates, tmp_path, capsys):
    d = _copy(plates, tmp_path)
    next((d / "images").glob("000002.*")).write_bytes(b"not an image")
    (d / "labels" / "000005.txt").unlink()
    data = load_tao(str(d), US)
    assert len(data.labels) == 6
    assert data.skipped == {"not_an_image": 1, "unlabelled": 1}
    assert main(["eval", str(d)]) == 0
    out = capsys.readouterr().out
    assert "2 images left out (not counted below): not_an_image=1, unlabelled=1" in out
    assert "plates: 6" in out
    assert main(["eval", str(d), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == {"not_an_image": 1, "unlabelled": 1}


def test_a_characters_list_that_does_not_fit_the_model_is_refused(plates, tmp_path, capsys):
    """A longer list read the blank as a character (every plate wrong, exit 0); a shorter
    one failed in decoding after every image was loaded."""
    longer = tmp_path / "longer.txt"
    longer.write_text(US.to_text() + "O\n")
    assert main(["eval", str(plates), "--characters", str(longer)]) == 2
    assert "scores 36 classes" in capsys.readouterr().err
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "model.onnx").write_bytes(np.arange(100, dtype=np.uint8).tobytes())
    shutil.copy(tmp_path / "longer.txt", junk / "characters_list.txt")
    assert main(["eval", str(plates), "--model", str(junk)]) == 2
    assert "ONNX Runtime cannot load" in capsys.readouterr().err


def test_a_lower_case_characters_list_is_named_as_the_cause(plates, tmp_path):
    """Labels are upper-cased before the check, so 'abc' labels against an a-z list failed with
    a message that showed the lower-case label and called its letters unknown."""
    lower = Charset(tuple("0123456789abcdefghijklmnopqrstuvwxyz"))
    with pytest.raises(LprRayError, match="read upper-cased, and this characters_list has lower-case letters"):
        list_tao(str(plates), lower)


def test_plates_of_the_other_region_name_the_models_that_read_them(tmp_path, capsys):
    """A Chinese dataset evaluated with the US default was told to delete its label files."""
    cn = tmp_path / "cn"
    write_dataset(str(cn), 4, seed=5, region="cn", workers=1, progress=None)
    assert main(["eval", str(cn)]) == 2
    err = capsys.readouterr().err
    assert "These are Chinese plates" in err and "--model cn_lprnet_small" in err
    assert "remove the label file" not in err and "\n" not in err.strip()
    assert main(["eval", str(cn), "--model", "cn_lprnet_small", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 4


def test_a_missing_dataset_says_so(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nope")]) == 2
    assert "nope does not exist; expected a TAO dataset folder" in capsys.readouterr().err


def test_an_unreachable_store_is_one_line(monkeypatch, capsys):
    """eval (and train's --train-tao) on an S3 dataset it cannot reach printed a traceback."""
    import socket

    import s3fs

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
                       "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    s3fs.S3FileSystem.clear_instance_cache()  # fsspec keeps one per process, made with the old env
    try:
        assert main(["eval", "s3://bkt/tao"]) == 2
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
    err = capsys.readouterr().err
    assert "cannot read the dataset s3://bkt/tao" in err and "Traceback" not in err
