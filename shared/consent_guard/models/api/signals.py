"""A media item's hashes as requests carry them (the platform's context, a person's protected media, a match)."""

from typing import Annotated, ClassVar, Self

from pydantic import (
    Field,
    StringConstraints,
    model_validator,
)

from consent_guard.models.api.base import Request
from consent_guard.models.domain import MediaType

Md5Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{32}$", to_lower=True)]


Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", to_lower=True)]


PdqHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$", to_lower=True)]


class MediaSignalsIn(Request):
    """Hashes computed where the media is (docs/hash-bank.md has a reference script); never the media itself."""

    md5: Md5Hex | None = Field(None, description="MD5 of the file, 32 hex digits.")
    sha256: Sha256Hex | None = Field(None, description="SHA-256 of the file, 64 hex digits.")
    pdq: PdqHex | None = Field(None, description="PDQ hash of a photo (256 bits), 64 hex digits. Photos only.")
    pdq_quality: int | None = Field(None, ge=0, le=100, description="PDQ quality, 0-100; required with pdq.")

    @model_validator(mode="after")
    def _pdq_with_quality(self) -> Self:
        if (self.pdq is None) != (self.pdq_quality is None):
            raise ValueError("pdq and pdq_quality are given together")
        return self

    def any(self) -> bool:
        return bool(self.md5 or self.sha256 or self.pdq)


def check_media_signals(media_type: MediaType, signals: MediaSignalsIn | None, required: bool) -> None:
    if signals is not None and media_type == MediaType.VIDEO and signals.pdq is not None:
        raise ValueError("videos carry md5 and sha256 only (PDQ is a photo hash)")
    if required and (signals is None or not signals.any()):
        raise ValueError("at least one of md5, sha256 or pdq is required")


class MediaHashesRequest(Request):
    """A request body's one media item: its type and its hashes as flat fields, checked against the type; with
    `hashes_required` (a person's protected media, a match) at least one hash, else (the platform's context) none
    is fine."""

    hashes_required: ClassVar[bool] = True

    media_type: MediaType
    md5: Md5Hex | None = None
    sha256: Sha256Hex | None = None
    pdq: PdqHex | None = None
    pdq_quality: int | None = Field(None, ge=0, le=100)

    @model_validator(mode="after")
    def _signals(self) -> Self:
        check_media_signals(self.media_type, self.signals(), required=self.hashes_required)
        return self

    def signals(self) -> MediaSignalsIn | None:
        if self.md5 is None and self.sha256 is None and self.pdq is None and self.pdq_quality is None:
            return None
        return MediaSignalsIn(md5=self.md5, sha256=self.sha256, pdq=self.pdq, pdq_quality=self.pdq_quality)
