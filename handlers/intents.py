"""What a chat message is for, decided before capture: a command or question, a record of a touch, or chatter.

Not every message is a record. Commands go to the capability that registered them; chatter (好的,
收到, 👍) gets a short answer and no record; only the roles that meet customers get a draft-record card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from storage.models import Role

# Roles whose plain messages are touches with customers (others get help for their role instead).
RECORDING_ROLES = frozenset({Role.rep, Role.supervisor})

_ACK = r"(好的?|好滴|好嘞|嗯+|哦+|噢|收到了?|知道了|明白了?|了解|行|可以|谢谢|多谢|感谢|辛苦了?|ok|okay|OK|Ok|👌|👍|🙏|thx|thanks)"
_GREETING = r"(你好|您好|hi|hello|在吗|在不在|早上好|早|晚安|哈+)"
CHATTER = re.compile(rf"^\s*(({_ACK}|{_GREETING})[\s,，。.!！~～]*)+\s*$", re.IGNORECASE)
NO_WORDS = re.compile(r"^[\W_]*$")  # only emoji / punctuation


HELP = re.compile(r"\s*(帮助|help|菜单|怎么用|使用说明|\?|？)\s*[?？]?\s*", re.IGNORECASE)


class Intent(StrEnum):
    record = "record"
    chatter = "chatter"
    not_for_role = "not_for_role"


@dataclass(frozen=True)
class Reading:
    intent: Intent


def classify(text: str, role: Role) -> Reading:
    """For a message that is not a command (commands were tried first)."""
    if CHATTER.match(text) or NO_WORDS.match(text):
        return Reading(Intent.chatter)
    if role not in RECORDING_ROLES:
        return Reading(Intent.not_for_role)
    return Reading(Intent.record)
