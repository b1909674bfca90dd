"""Development secrets kept in .local/ (the JWT key, the cursor key): created on first use, atomically."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def dev_secret(path: Path, nbytes: int = 48) -> str:
    """The secret in `path`, created on first use. Creation is atomic, so concurrent first runs agree on one value."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(nbytes) + "\n")
    try:
        os.link(tmp, path)  # fails if another process won the race: then use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
