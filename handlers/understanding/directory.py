"""The customer directory: names reps actually use, and finding them in a message.

Reps rarely type a full legal name. They use an alias (恒远化工), the name without city and
company form (鲁康中医医院), a unique prefix (无锡瑞丰), or just the brand (瑞丰). The directory
precomputes every such variant once; matching a message is then a cheap left-to-right scan.
A variant shared by several customers (恒远, 金泰, 益安) never picks one of them: it yields
candidates and the bot asks.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jieba

from .text import normalize
from .vocabulary import general_frequencies, new_tokenizer


@dataclass(frozen=True)
class Customer:
    """One row of the customer directory."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    address: str = ""
    lat: float | None = None
    lng: float | None = None


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def load_customers_csv(path: str | Path) -> list[Customer]:
    """Read ``id,name,aliases,address,lat,lng`` (aliases ``;``-separated); blank rows are skipped."""
    customers: list[Customer] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            cid = (row.get("id") or "").strip()
            name = (row.get("name") or "").strip()
            if not cid or not name:
                continue
            aliases = tuple(a.strip() for a in re.split(r"[;；]", row.get("aliases") or "") if a.strip())
            customers.append(
                Customer(
                    id=cid,
                    name=name,
                    aliases=aliases,
                    address=(row.get("address") or "").strip(),
                    lat=_float_or_none(row.get("lat")),
                    lng=_float_or_none(row.get("lng")),
                )
            )
    return customers


_PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 "
    "海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
_CITIES = (
    "石家庄 唐山 保定 廊坊 太原 大同 沈阳 大连 长春 哈尔滨 南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 "
    "扬州 镇江 泰州 宿迁 昆山 江阴 张家港 常熟 杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 义乌 "
    "合肥 芜湖 蚌埠 马鞍山 安庆 福州 厦门 泉州 漳州 莆田 南昌 赣州 九江 济南 青岛 淄博 烟台 潍坊 济宁 "
    "泰安 威海 临沂 郑州 洛阳 开封 新乡 南阳 武汉 宜昌 襄阳 长沙 株洲 湘潭 衡阳 岳阳 常德 广州 深圳 "
    "珠海 汕头 佛山 韶关 江门 湛江 肇庆 惠州 东莞 中山 顺德 海口 三亚 成都 绵阳 德阳 宜宾 贵阳 遵义 "
    "昆明 大理 西安 咸阳 兰州 西宁 银川 乌鲁木齐 南宁 柳州 桂林 拉萨 呼和浩特 包头"
).split()
_GEO = re.compile(
    "^(?:(?:" + "|".join(sorted(_PROVINCES, key=len, reverse=True)) + ")(?:省|市|自治区)?)?"
    "(?:(?:" + "|".join(sorted(_CITIES, key=len, reverse=True)) + ")市?)?"
)
_PAREN = re.compile(r"\([^)]*\)")
_COMPANY_FORM = re.compile(
    r"(?:股份有限公司|有限责任公司|集团有限公司|集团股份有限公司|有限公司|分公司|总公司|集团|公司)$"
)
# Words that say what kind of business a name is; brand + one of these is how reps shorten names
# (鲁康医院, 金泰物流) and a known brand followed by a *different* one is another company.
INDUSTRY_WORDS: tuple[str, ...] = (
    "医院", "学校", "酒店", "物流", "机械", "化工", "科技", "食品", "家具", "物业", "模具", "超市", "口腔",
    "医药", "幼教", "供应链", "便利", "包装", "彩印", "光伏", "汽配", "冷链", "精密", "机电", "建材",
    "电子", "电器", "实业", "贸易", "制药", "药业", "门诊", "诊所", "地产", "置业", "能源", "环保",
    "材料", "汽车", "印务", "印刷", "纺织", "服饰", "餐饮", "传媒", "文化", "教育", "中医",
    "酒业", "酒水", "茶业", "乳业", "塑胶", "塑业", "塑料", "五金", "钢铁", "纸业", "陶瓷", "玻璃", "服装", "鞋业",
    "生物", "软件", "网络", "通信", "光电", "重工", "装饰", "建设", "工程", "商贸", "农业", "水务", "燃气",
)
_INDUSTRY_AFTER = re.compile("|".join(sorted(INDUSTRY_WORDS, key=len, reverse=True)))
# A generated two-character brand that is an everyday word (第一, 中国) would match everywhere.
_COMMON_WORD_FREQ = 1000


def core_name(name: str) -> str:
    """The distinctive part of a legal name: no city/province prefix, company form or bracket."""
    core = _PAREN.sub("", normalize(name))
    for _ in range(3):
        stripped = _COMPANY_FORM.sub("", core)
        if stripped == core:
            break
        core = stripped
    geo = _GEO.match(core)
    if geo and geo.end() and len(core) - geo.end() >= 2:
        core = core[geo.end() :]
    return core


@dataclass(frozen=True, slots=True)
class Mention:
    """A customer variant found in the text."""

    start: int
    end: int
    ids: tuple[str, ...]
    unknown: bool = False  # a known brand followed by a different business word: another company


@dataclass
class CustomerMatch:
    """Result of resolving a message's mentions to one customer (or candidates)."""

    customer_id: str | None
    candidates: list[str]
    mentions: list[Mention] = field(default_factory=list)
    ambiguous: bool = False
    unknown: bool = False


class Directory:
    """Customers plus everything precomputed to find them quickly in many messages."""

    def __init__(self, customers: Iterable[Customer]) -> None:
        self.customers: tuple[Customer, ...] = tuple(customers)
        self.by_id: dict[str, Customer] = {c.id: c for c in self.customers}
        variants: dict[str, set[str]] = {}
        exact: dict[str, set[str]] = {}  # full names and aliases: they name exactly these customers
        weak: set[str] = set()  # generated 2-char brands: must be a token of their own
        explicit: set[str] = set()

        def add(variant: str, cid: str, *, is_weak: bool = False, is_exact: bool = False) -> None:
            variant = normalize(variant)
            if len(variant) < 2:
                return
            variants.setdefault(variant, set()).add(cid)
            if is_exact:
                exact.setdefault(variant, set()).add(cid)
            if is_weak:
                weak.add(variant)
            else:
                explicit.add(variant)

        common = general_frequencies()  # jieba's general dictionary, to spot everyday words
        for c in self.customers:
            full = normalize(c.name)
            add(full, c.id, is_exact=True)
            for alias in c.aliases:
                add(alias, c.id, is_exact=True)
            core = core_name(c.name)
            no_paren = _PAREN.sub("", full)
            for base, minimum in ((no_paren, 4), (core, 3)):
                for n in range(minimum, len(base) + 1):
                    add(base[:n], c.id)
            if len(core) >= 3:
                brands = [core[:2]]
                if len(core) >= 6:
                    brands.append(core[2:4])  # 两江仁爱医院 -> 仁爱医院
                # a brand must be distinctive: an industry word (精密, 冷链) or an everyday word would turn
                # generic phrases (精密机械展会, 冷链物流) into this customer
                brands = [b for b in brands if not _INDUSTRY_AFTER.fullmatch(b) and common.get(b, 0) < _COMMON_WORD_FREQ]
                for word in INDUSTRY_WORDS:
                    if word in core[2:]:
                        for brand in brands:
                            add(brand + word, c.id)
                if common.get(core[:2], 0) < _COMMON_WORD_FREQ:
                    add(core[:2], c.id, is_weak=True)

        order = {c.id: i for i, c in enumerate(self.customers)}
        # an exact full name or alias always wins over another customer's generated prefix of it
        self.variants: dict[str, tuple[str, ...]] = {
            v: tuple(sorted(exact.get(v, ids), key=order.__getitem__)) for v, ids in variants.items()
        }
        # Weak only if no customer lists it explicitly (蜀通 is an alias, so it is strong).
        self._weak: frozenset[str] = frozenset(weak - explicit)
        index: dict[str, list[str]] = {}
        for v in self.variants:
            index.setdefault(v[0], []).append(v)
        self._index: dict[str, tuple[str, ...]] = {
            ch: tuple(sorted(vs, key=len, reverse=True)) for ch, vs in index.items()
        }
        user_words = {v: 50_000 if len(v) > 2 else 20_000 for v in self.variants}
        self.tokenizer: jieba.Tokenizer = new_tokenizer(user_words)

    def __len__(self) -> int:
        return len(self.customers)

    def get(self, customer_id: str | None) -> Customer | None:
        """The customer with this id, or None."""
        return self.by_id.get(customer_id) if customer_id else None

    def tokenize(self, text: str) -> list[tuple[str, int, int]]:
        """jieba tokens with offsets, using this directory's user dictionary (no HMM: names are known)."""
        tokens: list[tuple[str, int, int]] = []
        pos = 0
        for word in self.tokenizer.cut(text, HMM=False):
            tokens.append((word, pos, pos + len(word)))
            pos += len(word)
        return tokens

    def find_mentions(self, text: str, token_starts: set[int], token_ends: set[int]) -> list[Mention]:
        """Leftmost-longest scan for variants; weak brands must line up with jieba token edges."""
        mentions: list[Mention] = []
        index = self._index
        i, n = 0, len(text)
        while i < n:
            candidates = index.get(text[i])
            if candidates is None:
                i += 1
                continue
            for variant in candidates:
                if not text.startswith(variant, i):
                    continue
                end = i + len(variant)
                if variant in self._weak and not (i in token_starts and end in token_ends):
                    continue
                unknown = False
                if len(variant) == 2:
                    follow = _INDUSTRY_AFTER.match(text, end)
                    unknown = follow is not None
                mentions.append(Mention(i, end, self.variants[variant], unknown))
                i = end
                break
            else:
                i += 1
        return mentions

    def resolve(self, mentions: Sequence[Mention]) -> CustomerMatch:
        """One customer if every mention agrees; otherwise null with the candidates to ask about."""
        unique: list[str] = []
        shared: list[tuple[str, ...]] = []
        unknown = False
        for m in mentions:
            if m.unknown:
                unknown = True
                shared.append(m.ids)
            elif len(m.ids) == 1:
                if m.ids[0] not in unique:
                    unique.append(m.ids[0])
            else:
                shared.append(m.ids)
        ambiguous = False
        unresolved: list[str] = []
        for ids in shared:
            if any(i in unique for i in ids) and not unknown:
                continue  # "恒远化工 … 恒远" - the shared word refers to the one already named
            for i in ids:
                if i not in unresolved:
                    unresolved.append(i)
            ambiguous = True
        candidates = list(unique)
        for i in unresolved:
            if i not in candidates:
                candidates.append(i)
        if len(unique) == 1 and not ambiguous and not unknown:
            return CustomerMatch(unique[0], [unique[0]], list(mentions))
        return CustomerMatch(
            None, candidates, list(mentions), ambiguous=ambiguous or len(unique) > 1, unknown=unknown
        )
