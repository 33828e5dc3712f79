"""Bad command lines get one line saying what was received and what was expected, before any
work starts, and nothing half-written is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpr_ray.cli.main import main

MODEL_PT = Path(__file__).resolve().parents[1] / "lpr_ray" / "assets" / "us_lprnet_small" / "model.pt"


@pytest.mark.parametrize(
    "argv, says",
    [
        (["eval", "x", "--batch-size", "0"], "argument --batch-size: expected a whole number >= 1, got '0'"),
        (["train", "--out", "x", "--lr", "-1"], "argument --lr: expected a finite number > 0, got '-1'"),
        (["train", "--out", "x", "--tao-fraction", "2"], "argument --tao-fraction: expected a number in [0, 1]"),
        (["train", "--out", "x", "--device", "gpu"], "expected cpu, cuda, cuda:N or auto, got 'gpu'"),
        (["train", "--out", "x", "--steps-per-epoch", "0"], "argument --steps-per-epoch: expected a whole number >= 1"),
        (["export", "--checkpoint", "c", "--out", "o", "--temperature", "0"], "expected a finite number > 0, got '0'"),
        (["export", "--checkpoint", "c", "--out", "o", "--temperature", "nan"], "expected a finite number, got 'nan'"),
        (["export", "--checkpoint", "c", "--out", "o", "--temperature", "abc"], "expected a number, got 'abc'"),
        (["report", "--results", "r", "--out", "o.html", "--lowest", "-3"], "expected a whole number >= 0, got '-3'"),
        (["demo", "--count", "-1"], "expected a whole number >= 0, got '-1'"),
    ],
)
def test_bad_values_are_argument_errors(argv, says, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert says in capsys.readouterr().err


def test_train_keeps_an_earlier_run_and_says_what_resume_would_ignore(tmp_path, capsys):
    """Training into a folder that holds a run replaced its checkpoints and appended to its
    metrics; --resume silently dropped --lr and --batch-size."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"an earlier run's checkpoint")
    assert main(["train", "--out", str(run), "--epochs", "1"]) == 2
    assert "already holds a run (last.pt): continue it with --resume" in capsys.readouterr().err
    assert (run / "last.pt").read_bytes() == b"an earlier run's checkpoint"
    assert main(["train", "--out", str(run), "--resume", "--lr", "0.5", "--batch-size", "4", "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert "--batch-size 4, --lr 0.5 would be ignored" in err and "--epochs" not in err.split("ignored")[0]
    assert main(["train", "--out", str(tmp_path / "new"), "--epochs", "0"]) == 2
    assert "--epochs 0 trains nothing" in capsys.readouterr().err


def test_a_failed_export_leaves_no_model_folder(tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["export", "--checkpoint", str(MODEL_PT), "--out", str(out), "--opset", "5",
                 "--val-synthetic", "8"]) == 2
    assert "cannot export to ONNX with opset 5" in capsys.readouterr().err
    assert not out.exists()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["export", "--checkpoint", str(MODEL_PT), "--out", str(a_file)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_demo_and_synth_name_the_path_that_is_wrong(tmp_path, capsys):
    assert main(["demo", "--real", str(tmp_path / "typo")]) == 2
    assert f"--real {tmp_path / 'typo'} is not a folder" in capsys.readouterr().err
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main(["synth", "--count", "2", "--out", str(a_file / "sub"), "--quiet"]) == 2
    assert f"cannot create the dataset folder {a_file / 'sub'}" in capsys.readouterr().err


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    """`lpr-ray query ... | head` ended in a BrokenPipeError traceback once the output was
    larger than the pipe's buffer."""
    import subprocess
    import sys

    root = tmp_path / "results"
    root.mkdir()
    cmd = (f"{sys.executable} -m lpr_ray.cli.main query --results {root} "
           "--sql 'SELECT range AS n FROM range(200000)' --json | head -1")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == '{"n": 0}'
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 0


def test_train_refuses_nothing_to_train_on_and_leaves_no_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--synthetic", "0"]) == 2
    assert "nothing to train on: --synthetic 0" in capsys.readouterr().err
    assert main(["train", "--out", str(out), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert not out.exists()


def test_checkpoint_and_model_paths_of_the_wrong_kind_say_what_to_give(tmp_path, capsys):
    onnx = MODEL_PT.parent / "model.onnx"
    for init, says in (
        (onnx, "got the ONNX model"),
        (MODEL_PT.parent, f"give one of its checkpoints, e.g. {MODEL_PT}"),
    ):
        assert main(["train", "--out", str(tmp_path / "r"), "--init-from", str(init), "--epochs", "1"]) == 2
        assert says in capsys.readouterr().err
    run = tmp_path / "a-run"
    run.mkdir()
    (run / "best.pt").write_bytes(b"x")
    for model, says in ((run / "best.pt", "export it first with lpr-ray export --checkpoint"),
                        (run, "a training run? export it first")):
        assert main(["eval", str(tmp_path), "--model", str(model)]) == 2
        assert says in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "export", "synth", "build-engine"])
def test_help_shows_no_empty_defaults(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "(default: None)" not in text and "(default: [])" not in text and "(default: False)" not in text


def test_an_unknown_option_shows_its_commands_usage(capsys):
    """argparse printed the top-level usage, which lists commands, not the options wanted."""
    with pytest.raises(SystemExit) as exc:
        main(["models", "--nope"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: lpr-ray models") and "unrecognized arguments: --nope" in err
