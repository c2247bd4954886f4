"""The customer timeline page: one server-rendered, mobile-first HTML page (no script), every string escaped."""

from __future__ import annotations

from datetime import tzinfo
from html import escape

from handlers.customer_timeline import KINDS, Item

_CSS = """
body{font:15px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f6f8;color:#222}
header{background:#1f6feb;color:#fff;padding:14px 16px}header h1{font-size:18px;margin:0}
header p{margin:4px 0 0;opacity:.9;font-size:13px}ol{list-style:none;margin:0;padding:8px 12px}
li{background:#fff;border-radius:8px;margin:8px 0;padding:10px 12px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
.when{color:#888;font-size:12px}.kind{display:inline-block;font-size:12px;border-radius:4px;padding:0 6px;
margin-right:6px;color:#fff}.record{background:#1f6feb}.task{background:#8250df}.approval{background:#bf8700}
.evidence{background:#1a7f37}.stage{background:#cf222e}.who{color:#666;font-size:13px}
.empty,.refused{padding:24px 16px;color:#666}
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>")


def render_timeline(customer: str, stage: str, owner: str, items: list[Item], tz: tzinfo) -> str:
    rows = []
    for i in items:
        when = i.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        who = f'<span class="who"> · {escape(i.who)}</span>' if i.who else ""
        rows.append(f'<li data-kind="{i.kind}"><div class="when">{when}</div>'
                    f'<span class="kind {i.kind}">{KINDS[i.kind]}</span>{escape(i.text)}{who}</li>')
    body = "".join(rows) if rows else '<p class="empty">还没有记录、任务或审批。</p>'
    head = (f"<header><h1>{escape(customer)} · 客户时间线</h1>"
            f"<p>阶段：{escape(stage)} · 负责人：{escape(owner or '未分配')} · 共 {len(items)} 条</p></header>")
    return _page(f"{customer} · 客户时间线", f"{head}<ol>{body}</ol>")


def render_refusal(text: str) -> str:
    return _page("无法查看", f'<p class="refused">⛔ {escape(text)}</p>')
