"""Real media signals for tests (the demo's generator, local/media.py)."""

from local.media import distance, flip_bits, jpeg, photo, reencoded_and_resized, signals_of

__all__ = ["distance", "flip_bits", "jpeg", "photo", "reencoded_and_resized", "signals_of"]
