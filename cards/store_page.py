"""The store flow's mobile pages: server-rendered HTML with inline CSS and plain forms (no script, one request
per tap, a few KB each — fast on 3G), big buttons for a phone held in one hand; every string escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from cards.store import Row

_CSS = """
body{font:17px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f6f8;color:#222}
header{background:#0b7a53;color:#fff;padding:12px 16px}header h1{font-size:18px;margin:0}
header p{margin:2px 0 0;font-size:13px;opacity:.9}main{padding:12px}
.steps{display:flex;gap:4px;margin:0 0 12px;padding:0;list-style:none}.steps li{flex:1;height:6px;border-radius:3px;
background:#d0d7de}.steps li.done{background:#0b7a53}.steps li.now{background:#f0a020}
.node{background:#fff;border-radius:10px;padding:14px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.node h2{margin:0 0 8px;font-size:22px}.script{font-size:19px;background:#eef8f3;border-left:4px solid #0b7a53;
padding:10px;border-radius:6px}.cases{font-size:14px;color:#555;padding-left:18px}
button,.btn{display:block;width:100%;box-sizing:border-box;font-size:20px;padding:16px;margin:12px 0 0;border:0;
border-radius:10px;text-align:center;text-decoration:none}.primary{background:#0b7a53;color:#fff}
.quiet{background:#e6e8eb;color:#333}table{width:100%;border-collapse:collapse;background:#fff;font-size:15px}
th,td{padding:8px 6px;border-bottom:1px solid #eee;text-align:left}.drop{color:#cf222e;font-size:13px}
.refused{padding:24px 16px;color:#666}
"""


def page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>")


def _head(store: str, task: str, who: str) -> str:
    return f"<header><h1>{escape(store)} · {escape(task)}</h1><p>导购：{escape(who)}</p></header>"


def _form(action: str, fields: dict[str, str], label: str, cls: str, name: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())
    return (f'<form method="post" action="{escape(action)}">{hidden}'
            f'<button class="{cls}" name="do" value="{escape(name)}">{escape(label)}</button></form>')


def render_start(store: str, task: str, who: str, action: str, fields: dict[str, str], first: str) -> str:
    body = (f"{_head(store, task, who)}<main><div class=\"node\"><h2>新顾客进店</h2>"
            f"<p>点下面开始接待，从「{escape(first)}」开始，按节点逐步完成。</p>"
            f"{_form(action, fields, '开始接待', 'primary', 'start')}</div></main>")
    return page(f"{store} · {task}", body)


def render_node(store: str, task: str, who: str, names: Sequence[str], at: int, script: str,
                cases: Sequence[str], action: str, fields: dict[str, str]) -> str:
    steps = "".join(f'<li class="{"done" if i < at else "now" if i == at else ""}"></li>' for i in range(len(names)))
    won = "".join(f"<li>{escape(c)}</li>" for c in cases)
    body = (f"{_head(store, task, who)}<main><ol class=\"steps\">{steps}</ol><div class=\"node\" data-node=\"{at}\">"
            f"<p>第 {at + 1}/{len(names)} 步</p><h2>{escape(names[at])}</h2><div class=\"script\">话术：{escape(script)}</div>"
            + (f"<p>相似成交案例：</p><ul class=\"cases\">{won}</ul>" if won else "")
            + _form(action, {**fields, "node": str(at)}, "已完成", "primary", "tap")
            + _form(action, fields, "顾客离店", "quiet", "leave") + "</div></main>")
    return page(f"{names[at]} · {store}", body)


def render_done(store: str, task: str, who: str, text: str, action: str, fields: dict[str, str]) -> str:
    body = (f"{_head(store, task, who)}<main><div class=\"node\"><h2>{escape(text)}</h2>"
            f"{_form(action, fields, '接待下一位顾客', 'primary', 'next')}</div></main>")
    return page(f"{store} · {task}", body)


def render_funnel(store: str, day: str, rows: Sequence[Row]) -> str:
    by: dict[str, list[Row]] = {}
    for r in rows:
        by.setdefault(r.staff, []).append(r)
    steps = [r.step for r in next(iter(by.values()), [])]
    head = "".join(f"<th>{escape(s)}</th>" for s in steps)
    lines = "".join(
        f'<tr data-staff="{escape(staff)}"><td>{escape(staff)}</td>' + "".join(
            f'<td data-step="{escape(r.step)}">{r.count}'
            + (f'<div class="drop">流失 {r.drop}</div>' if r.drop else "") + "</td>" for r in got) + "</tr>"
        for staff, got in by.items())
    body = (f"<header><h1>{escape(store)} · 今日门店漏斗</h1><p>{escape(day)}</p></header><main>"
            f"<table><tr><th>导购</th>{head}</tr>{lines}</table></main>")
    return page(f"{store} · 今日门店漏斗", body)


def render_admin(tasks: Sequence[tuple[str, str, str]]) -> str:
    """(store, task, file path without extension) per row: print a fresh code as PNG or SVG."""
    rows = "".join(f"<tr><td>{escape(st)}</td><td>{escape(t)}</td><td><a href=\"{escape(p)}.png\">PNG</a> · "
                   f"<a href=\"{escape(p)}.svg\">SVG</a></td></tr>" for st, t, p in tasks)
    body = ("<header><h1>门店任务二维码</h1><p>每次下载都是新的签名链接（可单独停用：actionflow qr --revoke 链接）</p>"
            f"</header><main><table><tr><th>门店</th><th>任务</th><th>打印</th></tr>{rows}</table></main>")
    return page("门店任务二维码", body)


def render_refusal(text: str) -> str:
    return page("无法打开", f'<p class="refused">⛔ {escape(text)}</p>')
