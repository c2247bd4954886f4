"""Warning titles read the way a rep says it: days, not a count of hours."""

from __future__ import annotations

import pytest

from cards.warning import WarningView, build_warning


@pytest.mark.parametrize(("hours", "said"), [(5, "已5小时无跟进"), (23, "已23小时无跟进"), (24, "已1天无跟进"),
                                             (154, "已6天无跟进"), (24 * 30 + 3, "已30天无跟进")])
def test_stale_lead_title_in_days(hours: int, said: str) -> None:
    card = build_warning(WarningView(kind="stale_lead", level="red", customer_name="瑞丰机械", owner_name="张伟",
                                     hours=hours))
    assert said in card.title and "小时" not in card.title.replace(said, "")
