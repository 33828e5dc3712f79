"""The recipes that reproduce the shipped models: every lpr-ray command in them is one the CLI
accepts, and the default model's last training stage is the one exported."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from lpr_ray.cli.main import build_parser

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
RECIPE = RECIPES / "us_lprnet_small.sh"


def _commands(recipe: Path = RECIPE) -> list[list[str]]:
    text = recipe.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("lpr-ray "):
            line = line.replace('"${VAL_TAO[@]}"', "--val-tao ../shared/data/us_real_val")
            line = re.sub(r'"\$(\w+)', r'"/tmp/\1', line)
            out.append(shlex.split(line)[1:])
    return out


def test_the_default_models_recipe_trains_in_stages():
    assert [c[0] for c in _commands()].count("train") >= 3


@pytest.mark.parametrize("recipe", sorted(RECIPES.glob("*.sh")), ids=lambda p: p.name)
def test_every_recipe_command_parses(recipe):
    commands = _commands(recipe)
    assert any(c[0] == "train" for c in commands)
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)  # exits (SystemExit) on an unknown option
        assert args.command == argv[0]


def test_the_recipe_exports_its_last_stage():
    commands = _commands()
    stages = [c[c.index("--out") + 1] for c in commands if c[0] == "train"]
    export = next(c for c in commands if c[0] == "export")
    # the stage's best epoch on its own validation set, or one of its kept epochs
    assert re.fullmatch(re.escape(stages[-1]) + r"/(best\.pt|epochs/e\d{3}\.pt)", export[export.index("--checkpoint") + 1])
    for prev, argv in zip(stages, [c for c in commands if c[0] == "train"][1:], strict=False):
        assert argv[argv.index("--init-from") + 1].startswith(prev + "/"), argv
