"""Options derived from config dataclasses: every field an option, typed, and back again."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import pytest

from chainrule.cli import build_parser, main
from chainrule.commands.config_options import add_config_options, field_help, given_options
from chainrule.commands.gradients import config_from
from chainrule.vanishing.deepnet import GradientConfig


@dataclass(frozen=True)
class Sample:
    count: int = 2  # how many
    rate: float = 0.5  # how fast
    mode: Literal["a", "b"] = "a"  # which way
    sizes: tuple[int, ...] = (1,)  # layer sizes
    folder: str | None = None  # where
    limit: float | None = None  # at most this
    on: bool = True  # whether


def sample_parser(**options: Any) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_config_options(parser, Sample, **options)
    return parser


def test_each_annotation_gives_its_option() -> None:
    args = sample_parser().parse_args(
        ["--count", "3", "--rate", "1e-3", "--mode", "b", "--sizes", "4", "5",
         "--folder", "x", "--limit", "2", "--no-on"]
    )  # fmt: skip
    given = given_options(args, Sample)
    assert given == {"count": 3, "rate": 1e-3, "mode": "b", "sizes": [4, 5], "folder": "x",
                     "limit": 2.0, "on": False}  # fmt: skip
    assert given_options(sample_parser().parse_args([]), Sample) == {}
    with pytest.raises(argparse.ArgumentError):
        sample_parser().parse_args(["--mode", "c"])
    with pytest.raises(argparse.ArgumentError):
        sample_parser().parse_args(["--count", "2.5"])


def test_help_comes_from_the_field_comments_with_the_defaults() -> None:
    assert field_help(Sample)["sizes"] == "layer sizes"
    shown = sample_parser(defaults=Sample(), hidden={"limit"}, skip={"folder"}).format_help()
    assert "how many (default 2)" in shown and "which way (default 'a')" in shown
    assert "--limit" not in shown and "--folder" not in shown
    assert "--on, --no-on" in shown


def test_a_field_of_an_unknown_type_is_refused() -> None:
    @dataclass
    class Odd:
        table: dict[str, int]

    with pytest.raises(TypeError, match="no command-line option"):
        add_config_options(argparse.ArgumentParser(), Odd)


def test_every_gradient_config_field_is_an_option_of_gradients(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["gradients", "--help"]) == 0
    shown = capsys.readouterr().out
    for field in fields(GradientConfig):
        flag = "--" + field.name.replace("_", "-")
        assert (flag in shown) == (field.name != "progress"), flag  # --quiet sets progress
        if field.name not in ("progress", "clip", "data_dir"):
            assert field_help(GradientConfig)[field.name] in " ".join(shown.split()), field.name


def test_gradients_options_fill_the_config() -> None:
    argv = ["gradients", "--depth", "3", "--activation", "tanh", "--init", "xavier", "--batchnorm",
            "--clip", "1", "--epochs", "0.5", "--data-dir", "d", "--quiet"]  # fmt: skip
    config = config_from(build_parser().parse_args(argv))
    expected = GradientConfig(depth=3, activation="tanh", init="xavier", batchnorm=True,
                              clip=1.0, epochs=0.5, data_dir="d", progress=False)  # fmt: skip
    assert config == expected
    assert asdict(config_from(build_parser().parse_args(["gradients"]))) == asdict(GradientConfig())
