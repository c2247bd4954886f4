"""Text clean-up and clause splitting shared by every extractor.

Reps type on phones and dictate by voice, so the text arrives with full-width forms, zero-width
characters, fillers (嗯, 就是说) and a few recurring typos. Everything downstream works on the
normalised text, so offsets from different extractors line up.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Messages are one or two sentences; anything longer is pasted junk or an attack. Capping keeps
# the tagger's cost bounded while the head of the text (where reps put the gist) is still read.
MAX_CHARS = 2000

_CJK = "\u3400-\u9fff\uf900-\ufaff"

_TYPOS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"拜方"), "拜访"),
    (re.compile(r"(报价单?|合同|资料|邮件|方案)以(发|经)"), r"\1已\2"),
    (re.compile(r"以经"), "已经"),
    (re.compile(r"视屏"), "视频"),
    (re.compile(r"微心|威信"), "微信"),
)
_FILLERS = re.compile(r"嗯+[,，]?|就是说|那个(?=[,，])[,，]?")
_SPACES = re.compile(r"[ \t\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def normalize(text: str) -> str:
    """NFKC, drop invisible characters and voice fillers, fix common typos, cap the length."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text[: MAX_CHARS * 4])
    if not text.isprintable() or "\ufffd" in text:  # rare: only then pay for a per-character pass
        out: list[str] = []
        for ch in text:
            cat = unicodedata.category(ch)
            if cat == "Cf" or ch == "\ufffd":
                continue  # zero-width spaces/joiners, BOM, bidi marks, replacement chars
            if cat in ("Cc", "Zl", "Zp", "Cs", "Co", "Cn"):
                out.append("\n" if ch in "\n\r\u2028\u2029" else " ")
                continue
            out.append(ch)
        text = "".join(out)
    text = _FILLERS.sub("", text)
    for pattern, repl in _TYPOS:
        text = pattern.sub(repl, text)
    text = _SPACES.sub(" ", text)
    text = _NEWLINES.sub("\n", text)
    return text.strip()[:MAX_CHARS]


@dataclass(frozen=True, slots=True)
class Clause:
    """A stretch of text with one tense: split at punctuation, CJK-adjacent spaces and 说."""

    start: int
    end: int
    speaker_us: bool  # the clause is what we (the rep) said: "我说12月20号前装完"


# Punctuation always splits; a dot or colon between digits (36.5万, 10:00) does not; a space splits
# only next to a non-ASCII character so "quotation v2 sent" stays one clause; 等对方… starts a clause.
_SEPARATORS = re.compile(
    r"[,，。!！?？;；\n…~～()（）\[\]【】「」\"“”]+"
    r"|(?<!\d)[.:：](?!\d)|(?<=\d)[.:](?!\d)|(?<!\d)[.:](?=\d)"
    r"|(?<=[^\x00-\x7f]) +| +(?=[^\x00-\x7f])"
    # "合同已寄出等对方盖章": waiting for the other side starts a planned clause of its own
    r"|(?<=[\u3400-\u9fff])(?=等(?:他|她|对方|客户|甲方|领导|结果|回复|通知|消息))"
    # "电话里跟Jason承诺月底前寄样品": the call happened, only what is promised is planned
    r"|(?<=[^\s,，。!！?？;；\n])(?=答应|承诺|保证|拍胸脯|打包票)"
)
# 说 introduces reported speech: what follows has its own tense and speaker. Not 说明/说服 (verbs)
# unless 明 starts a time word (说明天 = 说 + 明天); 说好 (agreed) is a promise, not speech.
_SAY = re.compile(r"(?<![小游解演听据])说(?!服|话|不定|实话|好|明(?![天早晚日年儿]))")
_WE = re.compile(r"^(?:我|咱)")
# …then I said (出个quote我说, 我跟他说, 我回他说), not someone saying it to me (陈总跟我说)
_WE_BEFORE_SAY = re.compile(
    r"(?<![跟和给对向诉让叫])(?:我|咱)们?(?:就|也|又|还|当时|当场|马上)?"
    r"(?:(?:跟|和|给|对|回|向)(?:他|她|他们|她们|对方|客户|老板|人家))?(?:那个|嗯|就是)*$"
)
_LEAD_FILLER = re.compile(r"^(?:那个|就是|然后|所以|但是|不过|后来|最后|另外|而且|嗯|啊)+")


def split_clauses(text: str) -> list[Clause]:
    """Split into clauses; the part after 说 remembers whether we or the customer said it."""
    clauses: list[Clause] = []
    pos = 0
    for sep in _SEPARATORS.finditer(text):
        if sep.start() > pos:
            _split_say(text, pos, sep.start(), clauses)
        pos = sep.end()
    if pos < len(text):
        _split_say(text, pos, len(text), clauses)
    return clauses


def _split_say(text: str, start: int, end: int, out: list[Clause]) -> None:
    pos = start
    speaker_us = False
    for say in _SAY.finditer(text, start, end):
        if say.start() > pos:
            out.append(Clause(pos, say.start(), speaker_us))
        head = _LEAD_FILLER.sub("", text[pos : say.start()].strip())
        speaker_us = bool(_WE.match(head) or _WE_BEFORE_SAY.search(head))
        pos = say.end()
    if pos < end:
        out.append(Clause(pos, end, speaker_us))


def is_cjk(ch: str) -> bool:
    """True for a Han character (the language reps write in)."""
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


CJK_CLASS = _CJK
