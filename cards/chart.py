"""Radar charts as PNG files for report cards (the platforms show them as an image message).

Rendered with matplotlib's object API (no pyplot: no global figure state, safe in a server), with a CJK
font loaded **by path**: matplotlib's font cache does not know fonts installed after it was built, and
a name lookup that silently falls back to DejaVu draws every Chinese label as a tofu box. Before drawing,
every character of the labels is checked against the font's character map, so a missing glyph is an
error, never a box.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from fontTools.ttLib import TTCollection, TTFont
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

# fonts-noto-cjk (Debian/Ubuntu, installed by `make system-deps`), then other distributions' paths
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
FONT_ENV = "ACTIONFLOW_CJK_FONT"  # a font file to use instead (e.g. a shipped .otf)
SIZE_PX = 720
RADAR_ASPECT = 1.4  # width ÷ height of a radar picture
COLORS = ("#1f6feb", "#d1242f", "#1a7f37", "#bf8700", "#8250df", "#0a7d8c")


class FontMissing(RuntimeError):
    """No CJK font file was found, or it lacks a character a label needs."""


@lru_cache(maxsize=1)
def font_path() -> Path:
    candidates = ([os.environ[FONT_ENV]] if os.environ.get(FONT_ENV) else []) + list(FONT_CANDIDATES)
    for c in candidates:
        if Path(c).is_file():
            return Path(c)
    raise FontMissing("找不到中文字体（需要 fonts-noto-cjk：运行 make system-deps）；已查找 " + "、".join(candidates))


@lru_cache(maxsize=4)
def _cmap(path: Path) -> frozenset[int]:
    font = TTCollection(str(path)).fonts[0] if path.suffix.lower() == ".ttc" else TTFont(str(path))
    return frozenset(font.getBestCmap())


def missing_glyphs(text: str, path: Path | None = None) -> list[str]:
    """Characters of ``text`` the font cannot draw (they would come out as tofu boxes)."""
    cmap = _cmap(path or font_path())
    return sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cmap})


def font() -> FontProperties:
    return FontProperties(fname=str(font_path()))


def _check(labels: Sequence[str]) -> FontProperties:
    """The font, once every character the chart will draw is known to be in it (never a tofu box)."""
    missing = missing_glyphs("".join(labels))
    if missing:
        raise FontMissing(f"字体 {font_path().name} 缺少字符：{''.join(missing)}")
    return font()


def _save(fig: Figure, out: Path, *, tight: bool = True) -> Path:
    """``tight`` crops to what was drawn; a radar keeps its figure's shape (its aspect is what cards take)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.png")
    fig.savefig(tmp, format="png", facecolor="white", bbox_inches="tight" if tight else None,
                pad_inches=0.25 if tight else 0.1)
    tmp.replace(out)  # a reader never sees half a file
    return out


def radar_png(out: Path, title: str, axes: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
              ) -> Path:
    """One polygon per series over ``axes`` (values 0…1; None is drawn at 0 and labelled 无数据 by the card)."""
    fp = _check([title, *axes, *(name for name, _ in series), "无数据"])
    # landscape, RADAR_ASPECT wide: WeCom's card picture takes 1.3–2.25, Feishu's ≤ 16:9; the circle stays round
    fig = Figure(figsize=(SIZE_PX * RADAR_ASPECT / 100, SIZE_PX / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax: Any = fig.add_subplot(projection="polar")  # PolarAxes (the stubs type it as plain Axes)
    fig.subplots_adjust(top=0.84, bottom=0.16)  # room for the title above and the legend below
    n = len(axes)
    angles = [2 * math.pi * i / n for i in range(n)]
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    ax.set_ylim(0, 1)
    ax.set_yticks([0.25, 0.5, 0.75, 1.0])
    ax.set_yticklabels(["25%", "50%", "75%", "100%"], fontsize=8, color="#666666")
    ax.set_xticks(angles)
    ax.set_xticklabels(list(axes), fontproperties=fp, fontsize=13)
    for i, (name, values) in enumerate(series):
        vals = [0.0 if v is None else max(0.0, min(1.0, v)) for v in values]
        color = COLORS[i % len(COLORS)]
        ax.plot([*angles, angles[0]], [*vals, vals[0]], color=color, linewidth=2, label=name)
        ax.fill([*angles, angles[0]], [*vals, vals[0]], color=color, alpha=0.12)
    ax.set_title(title, fontproperties=fp, fontsize=15, pad=22)
    if series:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=min(3, len(series)),
                  prop=FontProperties(fname=str(font_path()), size=11), frameon=False)
    return _save(fig, out, tight=False)


def funnel_png(out: Path, title: str, steps: Sequence[tuple[str, int]]) -> Path:
    """Horizontal bars, first step on top (the digest's stage funnel as a picture for ``actionflow report``)."""
    fp = _check([title, *(s for s, _ in steps)])
    fig = Figure(figsize=(SIZE_PX / 100, max(3.0, 0.6 * len(steps) + 1.2)), dpi=100)
    FigureCanvasAgg(fig)
    ax: Any = fig.add_subplot()
    names = [s for s, _ in steps][::-1]
    counts = [n for _, n in steps][::-1]
    bars = ax.barh(range(len(steps)), counts, color=COLORS[0])
    ax.set_yticks(range(len(steps)))
    ax.set_yticklabels(names, fontproperties=fp, fontsize=12)
    ax.bar_label(bars, padding=4)
    ax.set_title(title, fontproperties=fp, fontsize=15)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, out)
