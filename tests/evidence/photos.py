"""JPEGs written in the test, with or without EXIF (time and GPS), as a phone camera writes them."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

GPS_IFD, EXIF_IFD = 0x8825, 0x8769


def photo(path: Path, *, lat: float | None = None, lng: float | None = None, taken: str | None = None) -> Path:
    """A small JPEG; ``taken`` like "2026:12:03 10:15:00" (EXIF's own format)."""
    im = Image.new("RGB", (64, 48), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "FakePhone"  # Make: something else a clean copy must drop
    if taken:
        exif.get_ifd(EXIF_IFD)[36867] = taken
    if lat is not None and lng is not None:
        def dms(v: float) -> tuple[float, float, float]:
            d = int(abs(v))
            m = int((abs(v) - d) * 60)
            return (float(d), float(m), round((abs(v) - d - m / 60) * 3600, 4))
        exif.get_ifd(GPS_IFD).update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lng >= 0 else "W",
                                      4: dms(lng)})
    im.save(path, "JPEG", exif=exif)
    return path
