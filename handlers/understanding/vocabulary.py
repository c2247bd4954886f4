"""Sales vocabulary and private jieba tokenizers.

jieba's general dictionary splits sales jargon (报价单, 回款, 巡店) and customer names badly, so
each Directory gets its own tokenizer with the directory and this vocabulary as a user dictionary.
Tokenizers are private instances (never jieba's global one) so two directories in one process -
or two tests - cannot leak words into each other. Loading jieba's dictionary takes about a second,
so it is loaded once per process and each private tokenizer starts from a copy of it.
"""

from __future__ import annotations

import logging
import threading

import jieba

SALES_VOCABULARY: tuple[str, ...] = (
    # touches
    "拜访", "上门", "巡店", "回访", "电联", "来电", "致电", "电话回访", "回访电话", "催款电话",
    "视频会议", "视频沟通", "微信", "发微信", "邮件", "发邮件", "短信", "勘测", "测量", "量尺寸",
    "现场勘测", "演示", "方案讲解", "讲方案", "路演", "报价", "报价单", "报价调整", "报价已发",
    "合同", "签合同", "签约", "盖章", "签回", "签回来", "用印", "回款", "到账", "货款", "尾款",
    "首付款", "首款", "预付款", "结清", "对账", "催款", "打款", "吃饭", "喝茶", "面谈", "当面谈",
    # objections and commercial terms
    "嫌贵", "压价", "砍价", "竞品", "异议", "交期", "账期", "质保", "维保", "售后", "验收",
    "招标", "投标", "标书", "预算", "总价", "单价", "折扣", "返点", "铺货", "堆头", "陈列",
    "导购", "话术", "样品", "样书", "试点", "试用", "新国标", "新国标适配", "API对接", "接口对接",
    "定制", "对接", "上线", "安装", "交付", "到货", "发货", "物料",
    # people and departments
    "总经理", "副总", "总监", "采购经理", "采购总监", "采购", "工程师", "设备科", "信息中心",
    "院办", "基建科", "工程部", "财务", "法务", "店长", "园长", "院长", "科长", "厂长", "主任",
    "老板", "负责人",
    # time words
    "明早", "明晚", "大后天", "礼拜天", "周日", "下周", "下个礼拜", "下星期", "这周", "本周",
    "月底", "年底", "中旬", "之前", "以前",
)

_BASE_LOCK = threading.Lock()
_BASE: jieba.Tokenizer | None = None


def _quiet_initialize(tokenizer: jieba.Tokenizer) -> None:
    logger = logging.getLogger("jieba")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        tokenizer.initialize()
    finally:
        logger.setLevel(level)


def _base_tokenizer() -> jieba.Tokenizer:
    global _BASE
    with _BASE_LOCK:
        if _BASE is None:
            base = jieba.Tokenizer()
            _quiet_initialize(base)
            _BASE = base
        return _BASE


def general_frequencies() -> dict[str, int]:
    """jieba's general dictionary (word -> frequency); read-only, shared by every directory."""
    return _base_tokenizer().FREQ


def new_tokenizer(user_words: dict[str, int]) -> jieba.Tokenizer:
    """A private tokenizer with the general dictionary plus ``user_words`` (word -> frequency)."""
    base = _base_tokenizer()
    tokenizer = jieba.Tokenizer()
    try:
        # Same state jieba's initialize() produces, without re-reading the dictionary from disk.
        tokenizer.FREQ = dict(base.FREQ)
        tokenizer.total = base.total
        tokenizer.initialized = True
    except AttributeError:  # pragma: no cover - a jieba release with different internals
        _quiet_initialize(tokenizer)
    for word in SALES_VOCABULARY:
        if tokenizer.FREQ.get(word, 0) < 2000:
            tokenizer.add_word(word, 2000)
    for word, freq in user_words.items():
        tokenizer.add_word(word, freq)
    return tokenizer
