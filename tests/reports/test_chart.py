"""The radar PNG: real size, not blank, and every Chinese label drawn with real glyphs (no tofu boxes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from cards.chart import FontMissing, font, font_path, funnel_png, missing_glyphs, radar_png
from handlers.reports.radar import CUSTOMER_AXES, PROCESS_AXES


def glyph(ch: str) -> np.ndarray:
    """``ch`` drawn alone with the chart's font, as a grey bitmap."""
    fig = Figure(figsize=(0.6, 0.6), dpi=100)
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, ch, fontproperties=font(), fontsize=28, ha="center", va="center")
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, 0].copy()


def test_the_radar_png_has_its_size_and_is_not_blank(tmp_path: Path) -> None:
    out = radar_png(tmp_path / "r.png", "张伟 过程健康雷达", PROCESS_AXES, [("张伟", [0.9, 0.1, 0.5, None, 1, 0.7])])
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width >= 500 and im.height >= 500
        assert 1.3 <= im.width / im.height <= 16 / 9  # what WeCom's and Feishu's card pictures take
        grey = np.asarray(im.convert("L"))
    assert (grey < 250).mean() > 0.02  # lines, fill and labels, not an empty white square
    assert len(np.unique(grey)) > 20
    assert not list(tmp_path.glob("*.part.png"))  # written whole, then moved into place


def test_every_label_character_is_a_real_glyph_not_tofu() -> None:
    labels = "".join([*PROCESS_AXES, *CUSTOMER_AXES, "过程健康雷达客户无数据张伟团队"])
    assert font_path().is_file() and missing_glyphs(labels) == []
    with pytest.warns(UserWarning, match="missing from font"):  # matplotlib itself says it drew a box
        tofu = glyph("\U000f0000")  # a private-use character no font draws: its box is what tofu looks like
    shapes = {ch: glyph(ch) for ch in set(labels)}
    for ch, bitmap in shapes.items():
        assert (bitmap < 128).any(), ch  # something was drawn
        assert not np.array_equal(bitmap, tofu), f"{ch} drawn as a tofu box"
    assert not np.array_equal(shapes["雷"], shapes["达"])  # distinct glyphs, not one box for all


def test_a_label_the_font_cannot_draw_is_refused_not_boxed(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="缺少字符"):
        radar_png(tmp_path / "x.png", "雷达", ["\U000f0000"], [])
    assert not (tmp_path / "x.png").exists()


def test_the_funnel_png_of_actionflow_report(tmp_path: Path) -> None:
    out = funnel_png(tmp_path / "f.png", "周建国 团队阶段漏斗", [("初步接触", 9), ("需求确认", 3), ("方案报价", 6)])
    with Image.open(out) as im:
        assert im.width >= 500 and (np.asarray(im.convert("L")) < 200).mean() > 0.01
