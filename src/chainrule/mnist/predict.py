"""Read a digit from any picture and prepare it the way MNIST was made.

MNIST's digits are white on black, cropped to the ink, scaled so the longer
side is 20 pixels (aspect ratio kept, anti-aliased) and placed in a 28x28 field
so that their centre of mass sits at the centre. A network trained on them
expects exactly that, so a photo of a digit on paper, a scan or a drawing goes
through the same steps here:

1. decode (PNG, JPEG, ...; EXIF rotation applied, 16-bit rescaled, transparency
   flattened) and shrink to at most :data:`WORK_SIZE` pixels;
2. ink = how far each pixel's colour is from the *local* background colour.
   For a greyscale picture that is the grey level, inverted when the background
   is light; measuring against the local background also removes the uneven
   lighting and shading of a photo, and it works for any pair of colours;
3. threshold (Otsu), drop specks (connected components), crop to the digit;
4. thicken strokes much thinner than MNIST's (a pen on a big sheet);
5. scale to 20 px on the longer side and centre by mass in 28x28.

>>> import numpy as np
>>> from PIL import Image, ImageDraw
>>> paper = Image.new("RGB", (120, 90), "white")
>>> ImageDraw.Draw(paper).line([(60, 10), (60, 80)], fill="black", width=8)
>>> digit = to_mnist(paper)
>>> digit.shape, digit.dtype, int(digit.max()) > 200
((28, 28), dtype('uint8'), True)
>>> rows = np.flatnonzero(digit.max(axis=1)); int(rows[-1] - rows[0] + 1)
20
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from chainrule.errors import ChainruleError

if TYPE_CHECKING:
    from torch import nn

FloatImage = NDArray[np.float32]

WORK_SIZE = 512
"""Longer side (pixels) the picture is shrunk to before processing; plenty for a 20 px digit."""

BOX, FIELD = 20, 28
"""MNIST's digit box and field sizes."""

MIN_CONTRAST = 0.08
"""Ink this close to the background (in RGB distance, 0..1) is no digit at all."""

MNIST_STROKE = 0.14
"""Median stroke width of MNIST test digits relative to their longer side (2*area/perimeter)."""

MIN_STROKE = 0.10
"""Relative stroke width below which strokes are thickened (5% of MNIST's are thinner)."""


@dataclass(frozen=True)
class Prediction:
    """The network's answer for one image file."""

    file: str
    digit: int
    probabilities: list[float]

    @property
    def probability(self) -> float:
        """The probability of the predicted digit."""
        return self.probabilities[self.digit]


# ---------------------------------------------------------------- decoding


def open_image(path: str | os.PathLike[str] | BinaryIO, name: str | None = None) -> Image.Image:
    """Decode an image file (EXIF rotation applied); one-line errors name the file.

    ``path`` may also be an open binary file (an upload); ``name`` then says what
    the messages call it. Photos up to Pillow's hard limit (about 179 megapixels)
    are accepted; JPEGs are decoded directly at a reduced size, so even those need
    little memory.
    """
    shown = name if name is not None else path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as file:
                file.draft("RGB", (WORK_SIZE, WORK_SIZE))  # JPEG: decode at reduced size
                image = ImageOps.exif_transpose(file)
                image.load()
                return image
    except FileNotFoundError:
        raise ChainruleError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise ChainruleError(f"{shown}: is a directory, not an image") from None
    except UnidentifiedImageError:
        raise ChainruleError(f"{shown}: not an image PIL can read (PNG, JPEG, ...)") from None
    except Image.DecompressionBombError:
        raise ChainruleError(f"{shown}: image too large to decode safely") from None
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt data
        raise ChainruleError(f"{shown}: corrupt image ({error})") from None


def eight_bit(image: Image.Image) -> Image.Image:
    """16-bit and float images as 8-bit greyscale, stretched to their own range.

    Pillow's own conversion clips 16-bit values at 255, which turns a 16-bit scan
    white; only the contrast matters here, so the values are rescaled.

    >>> scan = Image.fromarray(np.array([[0, 30000], [65535, 0]], dtype=np.uint16))
    >>> np.asarray(eight_bit(scan)).tolist()
    [[0, 117], [255, 0]]
    """
    if image.mode not in ("I", "F") and not image.mode.startswith("I;"):
        return image
    values = np.asarray(image, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) * (255 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.round(scaled).astype(np.uint8), "L")


def shrink(image: Image.Image) -> Image.Image:
    """The image with its longer side at most :data:`WORK_SIZE` (area-averaged)."""
    if max(image.size) <= WORK_SIZE:
        return image
    scale = WORK_SIZE / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    mode = "RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB"
    return image.convert(mode).resize(size, Image.Resampling.BOX)


def flatten_transparency(image: Image.Image) -> Image.Image:
    """RGB: transparent parts become the colour that contrasts with the opaque ones.

    A drawing exported with a transparent background has its strokes in the opaque
    part; dark strokes go on white, light strokes on black.
    """
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return image.convert("RGB")
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255
    alpha = rgba[..., 3:]
    opaque = alpha[..., 0] > 0.5
    grey = rgba[..., :3].mean(axis=2)
    strokes_dark = not opaque.any() or float(grey[opaque].mean()) < 0.5
    background = 1.0 if strokes_dark else 0.0
    rgb = rgba[..., :3] * alpha + background * (1 - alpha)
    return Image.fromarray(np.round(rgb * 255).astype(np.uint8), "RGB")


# ---------------------------------------------------------------- ink


def ink_map(image: Image.Image) -> FloatImage:
    """Per pixel, the RGB distance (0..1) from the local background colour."""
    smoothed = image.filter(ImageFilter.GaussianBlur(radius=max(0.5, max(image.size) / 400)))
    return colour_distance(as_float(smoothed), background(image))


def as_float(image: Image.Image) -> FloatImage:
    """An RGB image as float32 [H, W, 3] in 0..1."""
    return np.asarray(image, dtype=np.float32) / np.float32(255)


def colour_distance(rgb: FloatImage, reference: FloatImage) -> FloatImage:
    """Euclidean RGB distance scaled to 0..1 (black to white is 1)."""
    distance: FloatImage = np.sqrt(((rgb - reference) ** 2).sum(axis=2) / 3).astype(np.float32)
    return distance


def background(image: Image.Image) -> FloatImage:
    """The paper's colour under every pixel, shading included, without the strokes.

    Estimated on a copy of at most 64 px (the background is smooth): a per-channel
    median over a wide window (on a 24 px copy) gives a first guess; then, a few times, the pixels
    far from the guess are taken as strokes and the paper is interpolated over
    them with a normalised Gaussian average of the other pixels. The median alone
    lets the ink of a bold 0 or 8 bleed into its loops.
    """
    small = image.copy()
    small.thumbnail((64, 64), Image.Resampling.BOX)
    pixels = as_float(small)
    tiny = small.copy()
    tiny.thumbnail((24, 24), Image.Resampling.BOX)  # a rank filter costs window^2 per pixel
    rough = tiny.filter(ImageFilter.MedianFilter(_odd(0.4 * max(tiny.size))))
    estimate = as_float(rough.resize(small.size, Image.Resampling.BILINEAR))
    strokes = np.zeros(pixels.shape[:2], dtype=bool)
    for _ in range(3):
        ink = colour_distance(pixels, estimate)
        strokes |= ink > max(otsu_threshold(ink), MIN_CONTRAST / 2)
        estimate = paper_under(pixels, strokes, sigma=0.12 * max(small.size))
    channels = [
        Image.fromarray(np.ascontiguousarray(estimate[..., c]), "F").resize(
            image.size, Image.Resampling.BILINEAR
        )
        for c in range(3)
    ]
    return np.stack([np.asarray(c, dtype=np.float32) for c in channels], axis=2)


def paper_under(pixels: FloatImage, strokes: NDArray[np.bool_], sigma: float) -> FloatImage:
    """Colours of ``pixels`` with the (dilated) ``strokes`` filled in from the paper around."""
    grown = Image.fromarray(strokes.astype(np.uint8)).filter(ImageFilter.MaxFilter(3))
    paper = 1 - np.asarray(grown, dtype=np.float32)
    weight = gaussian_smooth(paper, sigma)
    known = weight > 1e-3
    paper_pixels = pixels[paper > 0] if paper.any() else pixels.reshape(-1, 3)
    filled = np.empty_like(pixels)
    for channel in range(3):
        estimate = gaussian_smooth(pixels[..., channel] * paper, sigma)
        estimate[known] /= weight[known]
        estimate[~known] = np.median(paper_pixels[:, channel])
        filled[..., channel] = estimate
    return filled


def gaussian_smooth(values: FloatImage, sigma: float) -> FloatImage:
    """A 2-D Gaussian blur with zeros outside (small images: two matrix products).

    >>> round(float(gaussian_smooth(np.ones((5, 5), dtype=np.float32), 1.0)[2, 2]), 2)
    0.98
    """

    def kernel(size: int) -> FloatImage:
        offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
        weights: FloatImage = np.exp(-0.5 * (offsets / sigma) ** 2).astype(np.float32)
        return weights / np.float32(sigma * np.sqrt(2 * np.pi))

    rows, cols = values.shape
    smoothed: FloatImage = (kernel(rows) @ values.astype(np.float32) @ kernel(cols)).astype(
        np.float32
    )
    return smoothed


def _odd(size: float) -> int:
    """The odd integer >= 3 nearest to ``size`` (rank filters need odd windows)."""
    return max(3, int(size) // 2 * 2 + 1)


def otsu_threshold(values: FloatImage) -> float:
    """The threshold that best splits ``values`` (in 0..1) into two classes (Otsu's method).

    >>> otsu_threshold(np.array([0.1, 0.12, 0.11, 0.9, 0.88], dtype=np.float32)) < 0.8
    True
    """
    counts, edges = np.histogram(values, bins=256, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts).astype(np.float64)
    mass = np.cumsum(counts * centres)
    total, total_mass = weight[-1], mass[-1]
    other = total - weight
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mass * weight - total * mass) ** 2 / (weight * other)
    between[~np.isfinite(between)] = -1
    return float(edges[int(np.argmax(between)) + 1])


# ---------------------------------------------------------------- the digit's pixels


def components(mask: NDArray[np.bool_]) -> tuple[NDArray[np.int32], list[int]]:
    """Label 8-connected regions of ``mask`` (1, 2, ...; 0 is background) and their sizes.

    >>> labels, sizes = components(np.array([[1, 0, 0], [0, 0, 1], [0, 1, 1]], dtype=bool))
    >>> labels.tolist(), sizes
    ([[1, 0, 0], [0, 0, 2], [0, 2, 2]], [1, 3])
    """
    labels = np.zeros(mask.shape, dtype=np.int32)
    sizes: list[int] = []
    for seed in np.flatnonzero(mask):
        if not labels.flat[seed]:
            sizes.append(_flood(mask, labels, int(seed), len(sizes) + 1))
    return labels, sizes


def _flood(mask: NDArray[np.bool_], labels: NDArray[np.int32], seed: int, label: int) -> int:
    """Give ``label`` to the region of ``mask`` around ``seed``; return its size.

    Breadth-first with an explicit queue, so a huge region cannot overflow a stack.
    """
    labels.flat[seed] = label
    queue, size = deque([divmod(seed, mask.shape[1])]), 0
    while queue:
        y, x = queue.popleft()
        size += 1
        rows, cols = slice(max(y - 1, 0), y + 2), slice(max(x - 1, 0), x + 2)
        fresh = mask[rows, cols] & (labels[rows, cols] == 0)
        labels[rows, cols][fresh] = label
        queue.extend(
            (rows.start + dy, cols.start + dx) for dy, dx in zip(*np.nonzero(fresh), strict=True)
        )
    return size


def digit_mask(ink: FloatImage, path: str = "<image>") -> NDArray[np.bool_]:
    """The pixels of the digit: above Otsu's threshold, in regions that are not specks.

    A region counts when it has at least 8% of the largest region's pixels; that
    keeps the detached bar of a 5 or the cross-stroke of a 7, and drops noise and
    dust.
    """
    if float(np.percentile(ink, 99.9)) < MIN_CONTRAST:
        raise ChainruleError(f"{path}: no digit found (the image is blank or has no contrast)")
    mask = ink > max(otsu_threshold(ink), MIN_CONTRAST / 2)
    labels, sizes = components(mask)
    if not sizes:
        raise ChainruleError(f"{path}: no digit found (the image is blank or has no contrast)")
    keep = np.flatnonzero(np.asarray(sizes) >= 0.08 * max(sizes)) + 1
    kept: NDArray[np.bool_] = np.isin(labels, keep)
    return kept


# ---------------------------------------------------------------- MNIST geometry


def stroke_width(mask: NDArray[np.bool_]) -> float:
    """Mean stroke width in pixels: 2 * area / boundary pixels (a stroke is a thin band).

    >>> band = np.zeros((50, 50), dtype=bool); band[5:9, 5:45] = True  # 4 px wide
    >>> round(stroke_width(band), 1)
    3.8
    """
    padded = np.pad(mask, 1)
    inner = (
        padded[1:-1, 1:-1]
        & padded[:-2, 1:-1]
        & padded[2:, 1:-1]
        & padded[1:-1, :-2]
        & padded[1:-1, 2:]
    )
    boundary = int((mask & ~inner).sum())
    return 2 * float(mask.sum()) / max(boundary, 1)


def crop_digit(ink: FloatImage, mask: NDArray[np.bool_]) -> FloatImage:
    """The ink inside the digit's bounding box, strokes at full strength, specks removed."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    level = float(np.percentile(ink[mask], 75))  # a typical stroke, saturated like MNIST's cores
    near_digit = np.asarray(
        Image.fromarray(mask[box].astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(3))
    ).astype(bool)
    cropped: FloatImage = np.clip(ink[box] / level, 0, 1) * near_digit
    return cropped


def thicken(digit: FloatImage) -> FloatImage:
    """Grow strokes thinner than :data:`MIN_STROKE` (relative to the digit's size).

    Done on a copy 4x the target size, so the dilation step is fine-grained. Thin
    lines turn faint when shrunk, so that copy's strokes are brought back to full
    strength before they are measured and grown.
    """
    scale = 4 * BOX / max(digit.shape)
    size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    pixels = np.asarray(Image.fromarray(digit, "F").resize(size, resample), dtype=np.float32)
    touched = pixels > 0.05
    if not touched.any():
        return digit
    pixels = np.clip(pixels / np.percentile(pixels[touched], 75), 0, 1).astype(np.float32)
    relative = stroke_width(pixels > 0.5) / max(size)
    if relative >= MIN_STROKE:
        return digit
    # MNIST's median width for a hairline, easing to MIN_STROKE at the threshold (no jump there)
    target = MIN_STROKE + (MNIST_STROKE - MIN_STROKE) * (1 - relative / MIN_STROKE)
    grow = _odd(1 + (target - relative) * max(size))  # a max filter of k adds k - 1 pixels
    grown = Image.fromarray(pixels, "F").filter(ImageFilter.MaxFilter(grow))
    return np.asarray(grown, dtype=np.float32)


def centre_in_field(digit: FloatImage) -> NDArray[np.uint8]:
    """Scale to 20 px on the longer side and centre by mass in 28x28, as MNIST was made."""
    height, width = digit.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.clip(
        np.asarray(Image.fromarray(digit, "F").resize(size, Image.Resampling.LANCZOS)), 0, 1
    )
    total = float(small.sum())
    if not total > 0:  # also NaN
        raise ChainruleError("no digit left after scaling")
    ys, xs = np.indices(small.shape)
    centre_y, centre_x = float((ys * small).sum()) / total, float((xs * small).sum()) / total
    # MNIST's centres of mass sit at pixel index 14 (measured on its test set)
    top = min(max(round(FIELD / 2 - centre_y), 0), FIELD - small.shape[0])
    left = min(max(round(FIELD / 2 - centre_x), 0), FIELD - small.shape[1])
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + small.shape[0], left : left + small.shape[1]] = small
    return np.round(field * 255).astype(np.uint8)


DARK = 48
"""Grey levels (0..255) up to this are background: above JPEG's ringing, below any ink."""


def already_mnist(image: Image.Image) -> NDArray[np.uint8] | None:
    """The picture itself when it is in MNIST's format already (28x28 grey, white on black).

    Such a digit was cropped, scaled to a 20 px box and centred by mass when MNIST
    was made; doing it again (re-cropping to the ink, thickening, rescaling) only
    moves it away from what the network saw in training. The test is what every
    one of MNIST's 60,000 training digits passes with room to spare: at least half
    the field dark, at most a tenth of the outer frame inked (4.6% at most in
    MNIST), the ink's centre of mass within 2.5 px of the centre (1.41 at most) and
    its box's longer side 12 to 24 px (14 to 22). Black on white is taken inverted.

    >>> plain = np.zeros((28, 28), np.uint8); plain[4:24, 12:16] = 255
    >>> bool((already_mnist(Image.fromarray(plain)) == plain).all())
    True
    >>> corner = np.zeros((28, 28), np.uint8); corner[2:8, 2:4] = 255
    >>> already_mnist(Image.fromarray(corner)) is None
    True
    """
    if image.size != (FIELD, FIELD):
        return None
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    if np.ptp(rgb, axis=2).max() > DARK:  # coloured: a drawing, not MNIST
        return None
    grey = np.asarray(image.convert("L"), dtype=np.uint8)
    for candidate in (grey, 255 - grey):
        if _looks_like_mnist(candidate):
            return np.ascontiguousarray(candidate)
    return None


def _looks_like_mnist(digit: NDArray[np.uint8]) -> bool:
    ink = digit > DARK
    frame = np.concatenate([ink[0], ink[-1], ink[1:-1, 0], ink[1:-1, -1]])
    if ink.mean() > 0.5 or frame.mean() > 0.1 or not ink.any():
        return False
    weight = digit.astype(np.float64)
    centre = (FIELD - 1) / 2
    rows, cols = np.arange(FIELD) - centre, np.arange(FIELD) - centre
    total = weight.sum()
    offset = math.hypot(weight.sum(1) @ rows / total, weight.sum(0) @ cols / total)
    filled_rows, filled_cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    side = max(filled_rows[-1] - filled_rows[0], filled_cols[-1] - filled_cols[0]) + 1
    return offset <= 2.5 and 12 <= side <= 24


def to_mnist(image: Image.Image, path: str = "<image>") -> NDArray[np.uint8]:
    """A decoded picture of one digit as an MNIST-style uint8 28x28 array (white on black)."""
    image = flatten_transparency(shrink(eight_bit(image)))
    plain = already_mnist(image)
    if plain is not None:
        return plain
    ink = ink_map(image)
    digit = crop_digit(ink, digit_mask(ink, path))
    if max(digit.shape) > 4:  # below that there is no stroke to measure
        digit = thicken(digit)
    return centre_in_field(digit)


def load_digit(path: str | os.PathLike[str]) -> NDArray[np.uint8]:
    """Read an image file and return its digit as MNIST-style uint8 28x28."""
    return to_mnist(open_image(path), str(path))


# ---------------------------------------------------------------- prediction


def classify(
    model: nn.Module,
    paths: Sequence[str | os.PathLike[str]],
    digits: Sequence[NDArray[np.uint8]],
) -> list[Prediction]:
    """Classify MNIST-style digits (uint8 28x28) in one batch; ``paths`` name them."""
    import torch

    from chainrule.mnist.train import predict_logits

    batch = torch.from_numpy(np.stack(digits))
    probabilities = torch.softmax(predict_logits(model, batch), dim=1)
    return [
        Prediction(str(path), int(row.argmax()), [round(float(p), 6) for p in row])
        for path, row in zip(paths, probabilities, strict=True)
    ]


def save_digit(digit: NDArray[np.uint8], path: str | os.PathLike[str]) -> None:
    """Write a 28x28 digit as a PNG (atomically), e.g. to see what the network saw."""
    import io

    from chainrule.files import write_atomic

    buffer = io.BytesIO()
    Image.fromarray(digit, "L").save(buffer, format="PNG")
    write_atomic(path, buffer.getvalue())


def format_text(predictions: Sequence[Prediction]) -> str:
    """One line per file: the file, the digit and its probability.

    >>> print(format_text([Prediction("seven.png", 7, [0.0] * 7 + [0.98] + [0.02, 0.0])]))
    seven.png: 7 (98.0%)
    """
    return "\n".join(f"{p.file}: {p.digit} ({100 * p.probability:.1f}%)" for p in predictions)


def format_json(predictions: Sequence[Prediction]) -> str:
    """A JSON list of ``{"file", "digit", "probabilities"}`` (probabilities of 0..9).

    >>> json.loads(format_json([Prediction("a.png", 1, [0.0, 1.0] + [0.0] * 8)]))[0]["digit"]
    1
    """
    records: list[dict[str, Any]] = [
        {"file": p.file, "digit": p.digit, "probabilities": p.probabilities} for p in predictions
    ]
    return json.dumps(records, indent=2)


FORMATS = {"text": format_text, "json": format_json}
"""``--format`` name -> renderer."""
