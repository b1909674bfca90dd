"""Real media signals for the demo and the tests: photos generated with Pillow, hashed with pdqhash through the
platforms' reference script (docs/hash_media.py). Synthetic 256-bit hashes are for scale tests only."""

from __future__ import annotations

import importlib.util
import io
import random
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]


@cache
def reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hash_media", ROOT / "docs" / "hash_media.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A deterministic photo-like picture: shapes of many colours on a gradient, slightly blurred."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    w, h = size
    for y in range(h):
        draw.line([(0, y), (w, y)], fill=(rng.randrange(40, 80), (y * 255) // h, 120))
    for _ in range(40):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(20, w // 2), y0 + rng.randrange(20, h // 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    return image.filter(ImageFilter.GaussianBlur(2))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def signals_of(data: bytes) -> dict[str, Any]:
    """md5, sha256, pdq and pdq_quality of an encoded photo, as the platform would send them."""
    module = reference()
    out: dict[str, Any] = dict(module.file_hashes(data))
    with Image.open(io.BytesIO(data)) as image:
        out["pdq"], out["pdq_quality"] = module.pdq_of_image(image)
    return out


def reencoded_and_resized(image: Image.Image) -> bytes:
    """The same photo uploaded again by someone else: resized to 400x300 and re-encoded at JPEG quality 40."""
    return jpeg(image.resize((400, 300)), quality=40)


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def flip_bits(pdq: str, bits: int, seed: int = 0) -> str:
    """A synthetic hash exactly `bits` away (boundary tests)."""
    rng = random.Random(seed)
    value = int(pdq, 16)
    for position in rng.sample(range(256), bits):
        value ^= 1 << position
    return f"{value:064x}"
