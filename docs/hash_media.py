"""Reference script for platforms: the signals of one photo or video, as PUT /context/posts/{post_id} and
POST /media/matches take them. Run it where the media lives; only its output (hashes) goes to consent-guard.

    pip install pillow numpy pdqhash        # pdqhash builds from source (about 16 s) on Linux
    python docs/hash_media.py photo.jpg      # {"media_type": "photo", "md5": ..., "sha256": ..., "pdq": ..., ...}
    python docs/hash_media.py clip.mp4       # videos: md5 and sha256 of the file

PDQ is computed on the decoded image downscaled to at most 512 px (PDQ works on 64x64 internally; downscaling first
keeps a 12 MP photo at ~60 ms). Grayscale, re-encoding and resizing change few bits; crops and flips change many.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic"}


def file_hashes(data: bytes) -> dict[str, str]:
    return {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}  # noqa: S324


def pdq_of_image(image: Any) -> tuple[str, int]:
    """PDQ hash (64 hex) and quality (0-100) of a PIL image."""
    import numpy as np
    import pdqhash

    rgb = image.convert("RGB")
    rgb.thumbnail((512, 512))
    bits, quality = pdqhash.compute(np.asarray(rgb))
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex(), int(quality)


def signals(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    out: dict[str, Any] = {"media_type": "photo" if path.suffix.lower() in PHOTO_SUFFIXES else "video"}
    out |= file_hashes(data)
    if out["media_type"] == "photo":
        from PIL import Image

        with Image.open(path) as image:
            image.draft("RGB", (512, 512))  # JPEG: decode at reduced size, much faster for large photos
            out["pdq"], out["pdq_quality"] = pdq_of_image(image)
    return out


if __name__ == "__main__":
    for name in sys.argv[1:]:
        sys.stdout.write(json.dumps(signals(Path(name))) + "\n")
