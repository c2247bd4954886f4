"""Hostile and odd input never raises and gives sensible output."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.understanding import Directory, understand
from handlers.understanding.tagger import analyse
from handlers.understanding.text import MAX_CHARS, normalize

from .conftest import at

NOW = at("2026-11-24 10:00")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\n\t",
        "😀🎉👍💰",
        "\u200b\u200c\u200d\ufeff",
        "\x00\x01\x02",
        "Hello world, just checking in!",
        "ООО Ромашка позвонил",
        "مرحبا",
        "🙂" * 5000,
        "，。！？；：" * 100,
        "周" * 3000,
        "12月" * 2000,
        "万" * 3000,
        "\ud800",  # a lone surrogate
        "{\"text\": 1}",
    ],
)
def test_odd_input_is_harmless(directory: Directory, text: str) -> None:
    u = analyse(text, NOW, directory)
    assert u.action_type in {"other", "call", "message", "visit"}
    assert 0.0 <= u.confidence <= 1.0
    assert u.to_contract()["action_type"] == u.action_type


def test_empty_message_has_zero_confidence(directory: Directory) -> None:
    u = analyse("", NOW, directory)
    assert u.action_type == "other" and u.customer_id is None and u.confidence == 0.0


def test_ten_thousand_characters(directory: Directory) -> None:
    text = ("瑞丰机械 上门拜访了张总,预算50万,下周三再去。" * 500)[:10_000]
    start = datetime.now()
    u = analyse(text, NOW, directory)
    assert datetime.now() - start < timedelta(seconds=2)
    assert u.customer_id == "D001" and u.action_type == "visit"


def test_zero_width_characters_are_stripped(directory: Directory) -> None:
    text = "瑞\u200b丰\u200d机\ufeff械 报\u200c价单已发"
    u = analyse(text, NOW, directory)
    assert u.customer_id == "D001" and u.action_type == "quote"


def test_full_width_and_mixed_scripts(directory: Directory) -> None:
    u = analyse("瑞丰机械　ｑｕｏｔａｔｉｏｎ　ｓｅｎｔ，预算５０万", NOW, directory)
    assert u.customer_id == "D001" and u.action_type == "quote" and u.budget == 500_000


def test_normalize_caps_length() -> None:
    assert len(normalize("啊" * 50_000)) <= MAX_CHARS


def test_non_string_input_does_not_raise(directory: Directory) -> None:
    assert understand(None, NOW, directory).action_type == "other"  # type: ignore[arg-type]


def test_other_timezones(directory: Directory) -> None:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert understand("瑞丰机械 明天拜访", now, directory).next_touch.isoformat() == "2026-11-25"
    naive = datetime(2026, 11, 24, 10, 0)
    assert understand("瑞丰机械 明天拜访", naive, directory).next_touch.isoformat() == "2026-11-25"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_never_raises_on_arbitrary_text(directory: Directory, text: str) -> None:
    u = analyse(text, NOW, directory)
    assert 0.0 <= u.confidence <= 1.0


_VOCAB = list("瑞丰机械恒远金泰益安蜀通周一二三四五六日天下个礼拜星期月号日前后明今晚上午下午万千元预算报价合同签回款到账电话微信拜访勘测演示嫌贵了已约再会要说我他,。 0123456789/-wk📞🧭📊")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=_VOCAB, max_size=120), days=st.integers(min_value=0, max_value=800))
def test_never_raises_on_sales_like_text(directory: Directory, text: str, days: int) -> None:
    now = at("2026-01-01 09:00") + timedelta(days=days, hours=days % 13)
    u = analyse(text, now, directory)
    for value in (u.next_touch, u.expected_date, u.promised_date):
        assert value is None or value >= now.date()
