"""The evidence card: where a photo, voice or file went, and the other places it could belong."""

from __future__ import annotations

from dataclasses import dataclass, field

from cards.model import Button, Card

KIND = "evidence"


@dataclass
class EvidenceView:
    label: str  # 照片 / 语音 / 文件 / 定位
    at: str  # "记录 #12（瑞丰机械·拜访）" or "检查项「安装条件现场照片」（瑞丰机械）"
    options: list[tuple[str, str]] = field(default_factory=list)  # (target like "r12" / "i5", label)
    moved: bool = False


def build_evidence(v: EvidenceView) -> Card:
    title = f"📎 {v.label}已{'改附到' if v.moved else '作为凭证附到'}{v.at}"
    buttons = [Button(f"mv:{target}", label[:20], "default", "target") for target, label in v.options]
    return Card(kind=KIND, title=title, color="green", buttons=buttons,
                note="附错了？点下面改到正确的记录或检查项" if buttons else "")
