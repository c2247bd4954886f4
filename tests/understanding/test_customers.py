"""Customer matching: names, aliases, prefixes, shared words, unknown and multiple customers."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.understanding import Customer, Directory, load_customers_csv
from handlers.understanding.directory import core_name

from .conftest import Tagger, at


@pytest.mark.parametrize(
    ("text", "customer_id"),
    [
        ("无锡瑞丰精密机械有限公司 拜访", "D001"),  # full name
        ("瑞丰机械 拜访", "D001"),  # alias
        ("瑞丰精密 拜访", "D001"),
        ("无锡瑞丰 拜访", "D001"),  # unique prefix of the full name
        ("无锡瑞丰精密机械 拜访", "D001"),
        ("瑞丰 拜访", "D001"),  # brand alone, unique
        ("蜀通 报价单已发", "D007"),  # two-character alias
        ("蜀通物流 合同签了", "D007"),
        ("鲁康中医医院 报价调整了", "D016"),  # name without city
        ("济南鲁康 报价调整了", "D016"),
        ("鲁康医院 合同签了", "D016"),
        ("两江仁爱医院 拜访", "D019"),
        ("仁爱医院 拜访", "D019"),
        ("海韵大酒店 演示", "D011"),
        ("佳禾优选五一广场店 巡店", "D004"),
        ("金泰汽配 拜访", "D003"),
        ("宁波金泰 拜访", "D003"),
        ("金泰冷链 拜访", "D009"),
        ("金泰物流 拜访", "D009"),
        ("益安口腔 微信", "D005"),
        ("益安医药 微信", "D013"),
        ("恒远化工 电话", "D002"),
        ("恒远彩印 电话", "D012"),
        ("恒远化工的李姐说恒远这边要等等", "D002"),  # the shared word refers back to the one named
    ],
)
def test_matches_one_customer(tag: Tagger, text: str, customer_id: str) -> None:
    u = tag(text)
    assert u.customer_id == customer_id
    assert u.customer_candidates == [customer_id]


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("恒远 电话回访", ["D002", "D012"]),  # shared word
        ("金泰 那边电话说下周签", ["D003", "D009"]),
        ("益安 发了微信", ["D005", "D013"]),
        ("恒远机电 明天上午过去拜访", ["D002", "D012"]),  # shared word + another business = unknown
        ("金泰汽配和金泰冷链拜访了一圈", ["D003", "D009"]),  # two customers
        ("下周一恒远化工,下周二蜀通", ["D002", "D007"]),
    ],
)
def test_ambiguous_gives_null_and_candidates(tag: Tagger, text: str, candidates: list[str]) -> None:
    u = tag(text)
    assert u.customer_id is None
    assert u.customer_candidates == candidates


@pytest.mark.parametrize(
    "text",
    ["今天去了趟天成建材,老板不在", "瑞丰建材 明天拜访", "周末在家整理客户资料", "给几个老客户打了回访电话"],
)
def test_unknown_or_no_customer_is_null(tag: Tagger, text: str) -> None:
    assert tag(text).customer_id is None


def test_core_name() -> None:
    assert core_name("无锡瑞丰精密机械有限公司") == "瑞丰精密机械"
    assert core_name("佳禾优选超市连锁(湖南)有限公司") == "佳禾优选超市连锁"
    assert core_name("上海小橡树幼教集团有限公司") == "小橡树幼教"
    assert core_name("济南鲁康中医医院") == "鲁康中医医院"


def test_everyday_word_brand_is_not_a_customer() -> None:
    directory = Directory([Customer("X1", "上海第一人民医院")])
    from handlers.understanding import understand

    assert understand("第一次接触,朋友介绍的", at("2026-11-24 10:00"), directory).customer_id is None
    assert understand("第一人民医院 拜访", at("2026-11-24 10:00"), directory).customer_id == "X1"


def test_held_out_style_names_match_by_prefix() -> None:
    directory = Directory(
        [
            Customer("H1", "杭州西溪医院"),
            Customer("H2", "无锡东方精密机械有限公司"),
            Customer("H3", "无锡东方精密机械有限公司新区分厂"),
        ]
    )
    from handlers.understanding import understand

    now = at("2026-11-24 10:00")
    assert understand("西溪医院 拜访了院长", now, directory).customer_id == "H1"
    assert understand("无锡东方精密机械有限公司 电话", now, directory).customer_id == "H2"  # exact name wins
    assert understand("无锡东方精密机械有限公司新区分厂 电话", now, directory).customer_id == "H3"


def test_directories_do_not_leak_between_instances() -> None:
    a = Directory([Customer("A1", "青松云帆科技有限公司")])
    b = Directory([Customer("B1", "红杉远航贸易有限公司")])
    words_a = {w for w, _, _ in a.tokenize("青松云帆 红杉远航")}
    words_b = {w for w, _, _ in b.tokenize("青松云帆 红杉远航")}
    assert "青松云帆" in words_a and "青松云帆" not in words_b
    assert "红杉远航" in words_b and "红杉远航" not in words_a
    import jieba

    assert "青松云帆" not in jieba.lcut("青松云帆 红杉远航")  # the global tokenizer is untouched


def test_load_customers_csv(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "\ufeffid,name,aliases,address,lat,lng\n"
        "C1,测试一号有限公司,一号;测一,某地,31.1,120.2\n"
        ",缺id,,,,\n"
        "C2,测试二号有限公司,,,,\n",
        encoding="utf-8",
    )
    customers = load_customers_csv(path)
    assert [c.id for c in customers] == ["C1", "C2"]
    assert customers[0].aliases == ("一号", "测一") and customers[0].lat == 31.1
    assert customers[1].aliases == () and customers[1].lat is None


def test_dev_directory_loads() -> None:
    customers = load_customers_csv(Path(__file__).resolve().parent.parent / "data" / "customers.csv")
    assert len(customers) == 20 and customers[6].aliases == ("蜀通", "蜀通物流")


def test_empty_directory() -> None:
    from handlers.understanding import understand

    u = understand("瑞丰机械 拜访了张总", at("2026-11-24 10:00"), Directory([]))
    assert u.customer_id is None and u.action_type == "visit"
