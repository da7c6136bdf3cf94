"""`chainrule mnist predict`: pictures of any size, colour and quality, read as MNIST was made."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from chainrule.cli import main
from chainrule.errors import ChainruleError
from chainrule.mnist import predict
from chainrule.mnist.data import load_mnist
from chainrule.mnist.predict import load_digit, stroke_width, to_mnist
from chainrule.mnist.train import load_checkpoint, predict_logits
from mnist_model import tiny_checkpoint

__all__ = ["tiny_checkpoint"]  # a fixture, imported for pytest

Digit = NDArray[np.uint8]
COUNT = 40  # test digits per style


@pytest.fixture(scope="module")
def test_digits() -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = load_mnist("test")
    return images[:COUNT], labels[:COUNT]


# ---------------------------------------------------------------- pictures made from MNIST digits


def _ink(digit: Digit, size: int) -> NDArray[np.float32]:
    """The digit's ink (0..1) scaled to ``size`` x ``size``."""
    image = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(image, dtype=np.float32) / 255, 0, 1)


def _paint(canvas: NDArray[np.float32], ink: NDArray[np.float32], top: int, left: int,
           colour: tuple[float, float, float]) -> Image.Image:  # fmt: skip
    """Lay ``ink`` of ``colour`` onto an RGB ``canvas`` (0..1) and return the picture."""
    h, w = ink.shape
    region = canvas[top : top + h, left : left + w]
    canvas[top : top + h, left : left + w] = (
        region * (1 - ink[..., None]) + np.asarray(colour) * ink[..., None]
    )
    return Image.fromarray(np.uint8(np.clip(canvas, 0, 1) * 255 + 0.5))


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


def dark_on_light_200px(digit: Digit, rng: np.random.Generator) -> Image.Image:
    return Image.fromarray(255 - digit).resize((200, 200), Image.Resampling.BICUBIC)


def blue_on_yellow_off_centre(digit: Digit, rng: np.random.Generator) -> Image.Image:
    canvas = np.empty((140, 190, 3), np.float32)
    canvas[:] = (0.95, 0.85, 0.3)
    return _paint(canvas, _ink(digit, 84), 40, 95, (0.1, 0.2, 0.7))


def yellow_on_green(digit: Digit, rng: np.random.Generator) -> Image.Image:
    canvas = np.empty((90, 70, 3), np.float32)
    canvas[:] = (0.1, 0.3, 0.1)
    return _paint(canvas, _ink(digit, 56), 10, 5, (1.0, 0.9, 0.5))


def noisy(digit: Digit, rng: np.random.Generator) -> Image.Image:
    grey = 1 - _ink(digit, 112) + rng.normal(0, 0.12, (112, 112))
    return Image.fromarray(np.uint8(np.clip(grey, 0, 1) * 255))


def jpeg_quality_30(digit: Digit, rng: np.random.Generator) -> Image.Image:
    return _jpeg(dark_on_light_200px(digit, rng), 30)


def transparent_background(digit: Digit, rng: np.random.Generator) -> Image.Image:
    """Black strokes on a transparent background, as a drawing program exports them."""
    alpha = Image.fromarray(digit).resize((96, 96), Image.Resampling.BICUBIC)
    layer = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    layer.putalpha(alpha)
    return layer


def photo_of_paper(digit: Digit, rng: np.random.Generator) -> Image.Image:
    """A pen digit on paper, photographed: uneven light, a shadow, grain, blur, JPEG."""
    h, w = 480, 640
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 0.95 - 0.35 * (xx / w) * (yy / h)  # lit from the top left
    light -= 0.15 * np.exp(-(((xx - 0.85 * w) / (0.12 * w)) ** 2))  # a shadow band
    paper = light[..., None] * np.array([1.0, 0.96, 0.88], np.float32)
    size = int(rng.integers(160, 300))
    ink = np.asarray(
        Image.fromarray(np.uint8(_ink(digit, size) * 255)).filter(ImageFilter.GaussianBlur(1.5)),
        dtype=np.float32,
    )
    ink = 0.85 * ink / 255
    top, left = int(rng.integers(10, h - size - 10)), int(rng.integers(10, w - size - 10))
    canvas = paper + rng.normal(0, 0.03, paper.shape).astype(np.float32)
    return _jpeg(_paint(canvas, ink, top, left, (0.1, 0.1, 0.3)), 80)


STYLES: dict[str, Callable[[Digit, np.random.Generator], Image.Image]] = {
    f.__name__: f
    for f in (
        dark_on_light_200px,
        blue_on_yellow_off_centre,
        yellow_on_green,
        noisy,
        jpeg_quality_30,
        transparent_background,
        photo_of_paper,
    )
}


@pytest.fixture(scope="module")
def model(tiny_checkpoint: Path) -> torch.nn.Module:
    return load_checkpoint(tiny_checkpoint)[0]


def _classify(model: torch.nn.Module, digits: list[Digit]) -> torch.Tensor:
    return predict_logits(model, torch.from_numpy(np.stack(digits))).argmax(dim=1)


@pytest.mark.parametrize("style", list(STYLES))
def test_restyled_digits_are_read_like_the_originals(
    style: str, model: torch.nn.Module, test_digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    images, labels = test_digits
    rng = np.random.default_rng(0)
    pictures = [STYLES[style](d.numpy(), rng) for d in images]
    digits = [to_mnist(picture) for picture in pictures]
    predicted = _classify(model, digits)
    direct = predict_logits(model, images).argmax(dim=1)
    assert float((predicted == labels).float().mean()) >= 0.9
    assert float((predicted == direct).float().mean()) >= 0.9
    for digit in digits:  # MNIST geometry: the longer side 20 px, mass at the centre
        _assert_mnist_geometry(digit)


def _assert_mnist_geometry(digit: Digit) -> None:
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert int(digit.max()) >= 200  # strokes at full strength
    rows, cols = np.flatnonzero(digit.max(axis=1) > 30), np.flatnonzero(digit.max(axis=0) > 30)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (19, 20, 21)
    mass = digit.astype(np.float64)
    ys, xs = np.indices(digit.shape)
    centre = (float((ys * mass).sum() / mass.sum()), float((xs * mass).sum() / mass.sum()))
    assert abs(centre[0] - 14) <= 1 and abs(centre[1] - 14) <= 1


def test_mnist_digits_pass_through_almost_unchanged(
    test_digits: tuple[torch.Tensor, torch.Tensor],
) -> None:
    for digit in test_digits[0][:20].numpy():
        again = to_mnist(Image.fromarray(digit)).astype(np.float64)
        correlation = np.corrcoef(again.ravel(), digit.astype(np.float64).ravel())[0, 1]
        assert correlation > 0.9


@settings(max_examples=25, deadline=None)
@given(
    index=st.integers(0, COUNT - 1),
    size=st.integers(40, 400),
    margin=st.tuples(st.integers(0, 60), st.integers(0, 60)),
    paper=st.tuples(*[st.floats(0.0, 1.0)] * 3),
    ink=st.tuples(*[st.floats(0.0, 1.0)] * 3),
)
def test_any_size_place_and_colours_give_the_same_digit(
    test_digits: tuple[torch.Tensor, torch.Tensor],
    index: int,
    size: int,
    margin: tuple[int, int],
    paper: tuple[float, float, float],
    ink: tuple[float, float, float],
) -> None:
    contrast = np.linalg.norm(np.subtract(paper, ink)) / np.sqrt(3)
    if contrast < 0.3:  # a digit barely different from its paper is a different test
        return
    digit = test_digits[0][index].numpy()
    canvas = np.empty((size + 2 * margin[0], size + 2 * margin[1], 3), np.float32)
    canvas[:] = paper
    picture = _paint(canvas, _ink(digit, size), margin[0], margin[1], ink)
    seen = to_mnist(picture)
    _assert_mnist_geometry(seen)
    assert _similarity(seen, to_mnist(Image.fromarray(digit))) > 0.85


def _similarity(a: Digit, b: Digit) -> float:
    """Correlation of two digits, the best over shifts of up to one pixel.

    Centring by mass rounds to whole pixels, so the same digit drawn at another
    size can land one pixel over; with 2-3 px strokes that alone drops the plain
    correlation to ~0.75.
    """
    shifted = (np.roll(b, (dy, dx), axis=(0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    return max(
        float(np.corrcoef(a.astype(np.float64).ravel(), s.astype(np.float64).ravel())[0, 1])
        for s in shifted
    )


# ---------------------------------------------------------------- drawn digits, thin pens, EXIF

STROKES: dict[int, list[tuple[str, object]]] = {
    0: [("ellipse", (110, 50, 210, 250))],
    1: [("line", [(170, 50), (150, 250)])],
    7: [("line", [(100, 55), (220, 55), (140, 250)])],
}


def _drawn(digit: int, width: int) -> Image.Image:
    """A digit drawn with a pen ``width`` px wide on a 320x300 sheet."""
    sheet = Image.new("RGB", (320, 300), (245, 245, 240))
    pen = ImageDraw.Draw(sheet)
    for kind, shape in STROKES[digit]:
        if kind == "line":
            pen.line(shape, fill=(20, 20, 20), width=width, joint="curve")  # type: ignore[arg-type]
        else:
            pen.ellipse(shape, outline=(20, 20, 20), width=width)  # type: ignore[arg-type]
    return sheet


def test_thin_pen_strokes_are_thickened_to_mnist_width(
    model: torch.nn.Module, monkeypatch: pytest.MonkeyPatch
) -> None:
    thin = [to_mnist(_drawn(d, 2)) for d in STROKES]
    for digit in thin:
        assert stroke_width(digit > 127) >= 2.0  # MNIST's median is 2.9 px
        _assert_mnist_geometry(digit)
    assert _classify(model, thin).tolist() == list(STROKES)
    monkeypatch.setattr(predict, "MIN_STROKE", 0.0)  # without thickening: hairlines
    hairlines = [to_mnist(_drawn(d, 2)) for d in STROKES]
    assert all(stroke_width(d > 127) < 1.0 for d in hairlines)


def test_exif_rotation_is_applied(
    tmp_path: Path, test_digits: tuple[torch.Tensor, torch.Tensor]
) -> None:
    upright = Image.fromarray(255 - test_digits[0][0].numpy()).resize((120, 120))
    stored = upright.rotate(90, expand=True)  # the camera's sensor orientation
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    stored.convert("RGB").save(tmp_path / "phone.jpg", exif=exif, quality=95)
    seen = load_digit(tmp_path / "phone.jpg").astype(np.float64)
    reference = to_mnist(upright).astype(np.float64)
    assert np.corrcoef(seen.ravel(), reference.ravel())[0, 1] > 0.9


@pytest.mark.parametrize(
    ("suffix", "convert"),
    [
        ("png", lambda im: Image.fromarray(np.asarray(im, dtype=np.uint16) * 257)),  # 16-bit
        ("png", lambda im: im.convert("1", dither=Image.Dither.NONE)),  # black and white scan
        ("gif", lambda im: im.convert("P")),  # palette
        ("jpg", lambda im: im.convert("CMYK")),  # print-ready JPEG
        ("webp", lambda im: im.convert("RGB")),
    ],
)
def test_file_formats_and_modes(
    suffix: str,
    convert: Callable[[Image.Image], Image.Image],
    tmp_path: Path,
    test_digits: tuple[torch.Tensor, torch.Tensor],
) -> None:
    picture = Image.fromarray(255 - test_digits[0][0].numpy()).resize((84, 84))
    file = tmp_path / f"digit.{suffix}"
    convert(picture).save(file)
    seen = load_digit(file).astype(np.float64)
    reference = to_mnist(picture).astype(np.float64)
    assert np.corrcoef(seen.ravel(), reference.ravel())[0, 1] > 0.95


def test_specks_of_dust_do_not_move_the_crop() -> None:
    clean = _drawn(1, 16)
    dusty = clean.copy()
    pen = ImageDraw.Draw(dusty)
    for x, y in [(10, 10), (300, 20), (20, 280), (305, 285)]:
        pen.ellipse((x, y, x + 3, y + 3), fill=(40, 40, 40))

    def box(picture: Image.Image) -> tuple[int, int, int, int]:
        mask = predict.digit_mask(predict.ink_map(picture))
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        return rows[0], rows[-1], cols[0], cols[-1]

    assert box(dusty) == box(clean) == (50, 250, 143, 178)
    _assert_mnist_geometry(to_mnist(dusty))


# ---------------------------------------------------------------- the command


@pytest.fixture
def image_files(
    tmp_path: Path, test_digits: tuple[torch.Tensor, torch.Tensor]
) -> tuple[list[Path], list[int]]:
    """A PNG photo, a JPEG and a tiny PNG of three test digits, with their labels."""
    images, labels = test_digits
    rng = np.random.default_rng(1)
    files = [tmp_path / "photo.jpg", tmp_path / "blue.png", tmp_path / "plain.png"]
    photo_of_paper(images[0].numpy(), rng).save(files[0])
    blue_on_yellow_off_centre(images[1].numpy(), rng).save(files[1])
    Image.fromarray(images[2].numpy()).save(files[2])
    return files, labels[:3].tolist()


def test_cli_text_output(
    tiny_checkpoint: Path,
    image_files: tuple[list[Path], list[int]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    files, labels = image_files
    assert main(["mnist", "predict", "--checkpoint", str(tiny_checkpoint), *map(str, files)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for line, file, label in zip(lines, files, labels, strict=True):
        assert line.startswith(f"{file}: {label} (") and line.endswith("%)")


def test_cli_json_output_and_saved_digits(
    tiny_checkpoint: Path,
    image_files: tuple[list[Path], list[int]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files, labels = image_files
    saved = tmp_path / "seen"
    args = ["mnist", "predict", "--checkpoint", str(tiny_checkpoint), *map(str, files)]
    assert main([*args, "--format", "json", "--save-digits", str(saved)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in records] == [str(f) for f in files]
    assert [r["digit"] for r in records] == labels
    for record in records:
        assert set(record) == {"file", "digit", "probabilities"}
        probabilities = record["probabilities"]
        assert len(probabilities) == 10 and sum(probabilities) == pytest.approx(1, abs=1e-4)
        assert probabilities.index(max(probabilities)) == record["digit"]
    for file in files:
        with Image.open(saved / f"{file.stem}.png") as image:
            assert image.size == (28, 28) and image.mode == "L"


def _write_bad_input(kind: str, tmp_path: Path, tiny_checkpoint: Path) -> tuple[Path, Path]:
    """(checkpoint, image) where exactly one is bad in the way ``kind`` says."""
    good_image = tmp_path / "good.png"
    Image.fromarray(load_mnist("test")[0][0].numpy()).save(good_image)
    checkpoint, image = tiny_checkpoint, good_image
    if kind == "missing image":
        image = tmp_path / "absent.png"
    elif kind == "corrupt image":
        image = tmp_path / "corrupt.png"
        image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    elif kind == "truncated image":
        image = tmp_path / "truncated.jpg"
        Image.new("RGB", (300, 300), "white").save(image, quality=90)
        image.write_bytes(image.read_bytes()[:200])
    elif kind == "not an image":
        image = tmp_path / "notes.png"
        image.write_text("just text")
    elif kind == "blank image":
        image = tmp_path / "blank.png"
        Image.new("RGB", (64, 48), (200, 180, 40)).save(image)
    elif kind == "a directory":
        image = tmp_path
    elif kind == "another model's checkpoint":
        checkpoint = tmp_path / "other.pt"
        state = torch.load(tiny_checkpoint, map_location="cpu", weights_only=True)
        state["config"]["hidden"] = [32, 32]  # weights no longer fit the network
        torch.save(state, checkpoint)
    elif kind == "a plain state_dict":
        checkpoint = tmp_path / "weights.pt"
        torch.save(torch.nn.Linear(3, 2).state_dict(), checkpoint)
    return checkpoint, image


BAD_INPUTS = {
    "missing image": "no such file",
    "corrupt image": "not an image",
    "truncated image": "corrupt image",
    "not an image": "not an image",
    "blank image": "no digit found",
    "a directory": "is a directory",
    "another model's checkpoint": "weights do not fit",
    "a plain state_dict": "not a chainrule MNIST checkpoint",
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(
    kind: str, tmp_path: Path, tiny_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint, image = _write_bad_input(kind, tmp_path, tiny_checkpoint)
    assert main(["mnist", "predict", "--checkpoint", str(checkpoint), str(image)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert BAD_INPUTS[kind] in captured.err


def test_noise_without_a_digit_is_no_crash() -> None:
    rng = np.random.default_rng(3)
    static = Image.fromarray(np.uint8(rng.integers(0, 256, (60, 80, 3))))
    try:
        digit = to_mnist(static)
    except ChainruleError as error:
        assert "no digit" in str(error)
    else:
        assert digit.shape == (28, 28)


@pytest.mark.parametrize("size", [(1, 1), (3, 200), (200, 2)])
def test_tiny_and_sliver_images(size: tuple[int, int]) -> None:
    picture = Image.new("L", size, 255)
    picture.putpixel((0, 0), 0)
    try:
        digit = to_mnist(picture)
    except ChainruleError as error:
        assert "no digit" in str(error)
    else:
        assert digit.shape == (28, 28)


# ---------------------------------------------------------------- digits in MNIST's own format


@pytest.mark.slow
@pytest.mark.parametrize(("suffix", "points"), [(".png", 0.0), (".jpg", 0.2)])
def test_mnist_format_files_are_read_as_they_are(
    tiny_checkpoint: Path, tmp_path: Path, suffix: str, points: float
) -> None:
    """300 test digits saved as 28x28 files: predict agrees with evaluate (issue 11).

    PNG is lossless, so the network sees exactly the test set's pixels; JPEG moves
    pixels a little, which may flip a borderline digit but must not cost accuracy.
    """
    model, _ = load_checkpoint(tiny_checkpoint)
    images, labels = load_mnist("test")
    images, labels = images[:300], labels[:300]
    files = []
    for index, image in enumerate(images.numpy()):
        files.append(tmp_path / f"{index}{suffix}")
        Image.fromarray(image).save(files[-1], quality=95)
    direct = predict_logits(model, images).argmax(dim=1)
    records = predict.classify(model, files, [load_digit(f) for f in files])
    read = torch.tensor([record.digit for record in records])
    evaluated = 100 * int((direct == labels).sum()) / 300
    predicted = 100 * int((read == labels).sum()) / 300
    assert predicted >= evaluated - points - 1e-9
    if suffix == ".png":
        assert torch.equal(read, direct)
        pairs = zip(files, images.numpy(), strict=True)
        assert all((load_digit(f) == image).all() for f, image in pairs)


def test_a_28x28_picture_that_is_not_mnist_format_is_still_prepared() -> None:
    """Black on white is inverted; a small digit in a corner is prepared as before."""
    white_on_black = np.zeros((28, 28), np.uint8)
    white_on_black[5:23, 12:16] = 255
    assert (to_mnist(Image.fromarray(255 - white_on_black)) == white_on_black).all()
    small = np.zeros((28, 28), np.uint8)
    small[2:10, 3:6] = 255  # small and off-centre: not as MNIST was made
    prepared = to_mnist(Image.fromarray(small))
    rows = np.flatnonzero(prepared.max(axis=1))
    assert rows[-1] - rows[0] + 1 == 20  # scaled into MNIST's 20 px box
