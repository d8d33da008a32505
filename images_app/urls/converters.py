"""Path converters: URL parts that must look right before any view (or engine) sees them."""

from __future__ import annotations


class ImageIdConverter:
    """A full or short image ID, with or without `sha256:` (12 to 64 lowercase hex)."""

    regex = r"(?:sha256:)?[0-9a-f]{12,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
