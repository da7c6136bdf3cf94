"""`chainrule mnist evaluate` and chainrule.mnist.evaluate: statistics, pictures, CLI, errors."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from chainrule.cli import main
from chainrule.errors import ChainruleError
from chainrule.mnist.config import PRESETS, asdict, replace
from chainrule.mnist.data import load_mnist
from chainrule.mnist.evaluate import (
    Evaluation,
    evaluate_model,
    format_report,
    plot_confusion,
    plot_misclassified,
)
from chainrule.mnist.models import build_model
from chainrule.mnist.train import CHECKPOINT_FORMAT, load_checkpoint, predict_logits
from mnist_model import tiny_checkpoint

__all__ = ["tiny_checkpoint"]  # a fixture, imported for pytest


@st.composite
def answers(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    """Random labels and probability rows over a random number of classes."""
    classes = draw(st.integers(2, 6))
    n = draw(st.integers(1, 40))
    labels = draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n))
    logits = draw(
        st.lists(
            st.lists(st.floats(-5, 5, allow_nan=False), min_size=classes, max_size=classes),
            min_size=n,
            max_size=n,
        )
    )
    return torch.tensor(labels), torch.softmax(torch.tensor(logits), dim=1)


@settings(max_examples=60, deadline=None)
@given(answers())
def test_statistics_match_their_definitions(data: tuple[torch.Tensor, torch.Tensor]) -> None:
    labels, probabilities = data
    classes = probabilities.shape[1]
    ev = Evaluation(labels, probabilities, class_names=tuple("abcdef"[:classes]))
    predicted = probabilities.argmax(dim=1)
    pairs = list(zip(labels.tolist(), predicted.tolist(), strict=True))
    assert int(ev.confusion.sum()) == len(labels)
    for t in range(classes):
        for p in range(classes):
            assert int(ev.confusion[t, p]) == pairs.count((t, p))
    wrong = [i for i, (t, p) in enumerate(pairs) if t != p]
    assert ev.accuracy == pytest.approx(100 * (len(labels) - len(wrong)) / len(labels))
    assert ev.misclassified == len(wrong)
    assert sorted(ev.misclassified_indices.tolist()) == wrong
    confidence = [float(probabilities[i, predicted[i]]) for i in ev.misclassified_indices]
    assert confidence == sorted(confidence, reverse=True)
    for c in range(classes):
        said_c = [t for t, p in pairs if p == c]
        is_c = [p for t, p in pairs if t == c]
        expected_precision = 100 * said_c.count(c) / len(said_c) if said_c else math.nan
        expected_recall = 100 * is_c.count(c) / len(is_c) if is_c else math.nan
        assert ev.precision[c] == pytest.approx(expected_precision, nan_ok=True)
        assert ev.recall[c] == pytest.approx(expected_recall, nan_ok=True)
    text = format_report(ev)
    assert f"{ev.accuracy:.2f}%" in text and "\n\n" in text
    record = ev.to_dict()
    assert all(cls["precision"] is None or cls["precision"] >= 0 for cls in record["classes"])


def test_model_on_the_test_set(tiny_checkpoint: Path) -> None:
    model, config = load_checkpoint(tiny_checkpoint)
    images, labels = load_mnist("test")
    ev = evaluate_model(model, images, labels)
    direct = predict_logits(model, images).argmax(dim=1)
    assert ev.accuracy == pytest.approx(100 * float((direct == labels).float().mean()))
    assert ev.accuracy > 90
    assert ev.support == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert ev.misclassified == int((direct != labels).sum())
    # the report's call: evaluate on the test split of the data the model was trained on
    assert evaluate_model(model, config).accuracy == ev.accuracy


@pytest.mark.parametrize("name", ["fast", "best", "examples"])
def test_a_cnn_evaluates_in_channels_last_the_same_in_any_batch(name: str, tmp_path: Path) -> None:
    config = replace(PRESETS[name], width=8) if name != "examples" else PRESETS[name]
    torch.manual_seed(0)
    trained = build_model(config).eval()
    torch.save({"format": CHECKPOINT_FORMAT, "config": asdict(config),
                "model": trained.state_dict()}, tmp_path / "cnn.pt")  # fmt: skip
    model, _ = load_checkpoint(tmp_path / "cnn.pt")
    weight = next(p for p in model.parameters() if p.dim() == 4)
    assert weight.is_contiguous(memory_format=torch.channels_last)  # as it trained
    images = load_mnist("test")[0][:300]
    logits = predict_logits(model, images)
    for size in (1, 7, 1000):  # the batch holds no state: BatchNorm uses running statistics
        assert torch.allclose(predict_logits(model, images, batch_size=size), logits, atol=1e-4)
    nchw = trained.to(memory_format=torch.contiguous_format)
    assert torch.allclose(predict_logits(nchw, images), logits, atol=1e-4)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_pictures_are_written_and_returned(tiny_checkpoint: Path, tmp_path: Path) -> None:
    model, _ = load_checkpoint(tiny_checkpoint)
    images, labels = load_mnist("test")
    ev = evaluate_model(model, images[:3000], labels[:3000])
    confusion = plot_confusion(ev, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes() == confusion
    width, height = _png_size(confusion)
    assert width > 800 and height > 700
    few = plot_misclassified(ev, images[:3000], tmp_path / "g.png", max_images=10)
    many = plot_misclassified(ev, max_images=40)  # the evaluation's own images
    assert (tmp_path / "g.png").read_bytes() == few
    assert _png_size(many)[1] > _png_size(few)[1]  # four rows of tiles instead of one


def test_gallery_of_a_perfect_model_says_so(tmp_path: Path) -> None:
    labels = torch.tensor([3, 1])
    ev = Evaluation(labels, torch.eye(10)[labels], torch.zeros(2, 28, 28, dtype=torch.uint8))
    assert ev.misclassified == 0 and ev.most_confused() == []
    _png_size(plot_misclassified(ev))
    assert "most confused" not in format_report(ev)
    assert "n/a" in format_report(ev)  # classes never predicted have no precision


def test_cli_prints_the_table_and_writes_both_pictures(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["mnist", "evaluate", "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert status == 0
    accuracy = float(re.search(r"test accuracy (\d+\.\d+)%", out).group(1))  # type: ignore[union-attr]
    assert accuracy > 90
    rows = re.findall(r"^\s+(\d)\s+(\d+)\s+(\d+\.\d)%\s+(\d+\.\d)%$", out, flags=re.MULTILINE)
    assert [r[0] for r in rows] == [str(d) for d in range(10)]
    assert sum(int(r[1]) for r in rows) == 10000
    for name in ("confusion-best.png", "misclassified-best.png"):
        assert _png_size((tmp_path / name).read_bytes())[0] > 500
        assert str(tmp_path / name) in out


def test_cli_defaults_to_the_checkpoint_folder(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "run" / "last.pt"
    copy.parent.mkdir()
    copy.write_bytes(tiny_checkpoint.read_bytes())
    assert main(["mnist", "evaluate", "--checkpoint", str(copy), "--max-images", "5"]) == 0
    assert (copy.parent / "confusion-last.png").is_file()
    assert (copy.parent / "misclassified-last.png").is_file()


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("missing", "no such checkpoint"),
        ("garbage", "not a readable checkpoint"),
        ("half-filled data", "missing t10k-labels"),
        ("no images", "--max-images must be at least 1"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    problem: str,
    message: str,
    tiny_checkpoint: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkpoint, extra = tiny_checkpoint, []
    if problem == "missing":
        checkpoint = tmp_path / "nope.pt"
    elif problem == "garbage":
        checkpoint = tmp_path / "garbage.pt"
        checkpoint.write_bytes(b"\x00not a checkpoint" * 10)
    elif problem == "half-filled data":
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        source = Path(__file__).resolve().parents[1] / "data" / "mnist"
        name = "t10k-images-idx3-ubyte.gz"
        (data_dir / name).write_bytes((source / name).read_bytes())
        extra = ["--data-dir", str(data_dir)]
    else:
        extra = ["--max-images", "0"]
    args = ["mnist", "evaluate", "--checkpoint", str(checkpoint), "--out", str(tmp_path), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1


def test_wrong_shapes_and_labels_are_errors(tiny_checkpoint: Path) -> None:
    model, _ = load_checkpoint(tiny_checkpoint)
    with pytest.raises(ChainruleError, match=r"\[N, 28, 28\]"):
        evaluate_model(model, torch.zeros(2, 32, 32, dtype=torch.uint8), torch.tensor([0, 1]))
    with pytest.raises(ChainruleError, match="10 classes"):
        evaluate_model(model, torch.zeros(2, 28, 28, dtype=torch.uint8), torch.tensor([0, 12]))
