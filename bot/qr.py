"""Printable QR codes for store tasks: PNG and SVG with the store and task name under the code (segno for the
code; Pillow and the same CJK font the charts use for the PNG caption, glyphs checked so nothing prints as tofu).

Error correction M and a 4-module quiet zone: a code taped to a counter survives smudges and a phone held at an
angle; the link inside is ~150 characters, so the code stays small enough to scan from 30 cm.
"""

from __future__ import annotations

import io
from html import escape
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

SCALE = 8
BORDER = 4


def caption(store: str, task: str) -> str:
    return f"{store} · {task}"


def png(url: str, label: str) -> bytes:
    # matplotlib loads only when a code is printed (the CLI starts in every test that runs it)
    from cards.chart import FontMissing, font_path, missing_glyphs

    qr = segno.make(url, error="m", micro=False)
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=SCALE, border=BORDER)
    code = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    missing = missing_glyphs(label)
    if missing:
        raise FontMissing(f"字体 {font_path().name} 缺少字符：{''.join(missing)}")
    font = ImageFont.truetype(str(font_path()), size=max(18, code.width // 14))
    box = [int(v) for v in font.getbbox(label)]
    pad = SCALE * 2
    out = Image.new("RGB", (max(code.width, box[2] + 2 * pad), code.height + box[3] + 2 * pad), "white")
    out.paste(code, ((out.width - code.width) // 2, 0))
    ImageDraw.Draw(out).text(((out.width - box[2]) // 2, code.height), label, fill="black", font=font)
    raw = io.BytesIO()
    out.save(raw, format="PNG")
    return raw.getvalue()


def svg(url: str, label: str) -> str:
    """Vector, for print shops: the code's own SVG with the caption as text below it (the printer's font)."""
    qr = segno.make(url, error="m", micro=False)
    buf = io.BytesIO()
    qr.save(buf, kind="svg", scale=SCALE, border=BORDER, xmldecl=False, svgns=False)
    inner = buf.getvalue().decode().replace("<svg", '<svg x="0" y="0"', 1)
    w, h = qr.symbol_size(scale=SCALE, border=BORDER)
    text_h = SCALE * 5
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + text_h}" '
            f'viewBox="0 0 {w} {h + text_h}"><rect width="100%" height="100%" fill="#fff"/>'
            f"{inner}"
            f'<text x="{w // 2}" y="{h + SCALE * 3}" font-size="{SCALE * 3}" text-anchor="middle" '
            f'font-family="PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif">{escape(label)}</text></svg>')


def write(url: str, label: str, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """Both files side by side; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    p, s = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
    p.write_bytes(png(url, label))
    s.write_text(svg(url, label), encoding="utf-8")
    return p, s
