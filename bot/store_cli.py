"""``actionflow qr``: print a store task's QR code (PNG + SVG), or revoke one printed code.

Each run issues a fresh token (its own jti), so a lost sheet can be revoked without reprinting the others:
``actionflow qr --revoke <link or token>``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.config import Config
from storage.models import Store, StoreTask


class QrError(Exception):
    """Said to the operator as is; nothing was changed."""


async def make_qr(s: AsyncSession, cfg: Config, store_name: str, task_name: str, out: Path,
                  now: datetime | None = None) -> str:
    if not cfg.security.token_secret:
        raise QrError(f"打印的二维码要用固定的签名密钥：请先设置环境变量 {cfg.security.token_secret_env}"
                      "（否则重启后所有二维码失效）。未生成任何文件。")
    # the page and picture code load only for this command, not at every CLI start
    from bot.qr import caption, write
    from bot.store_page import StoreLinkBook

    now = now or datetime.now(UTC)
    store = (await s.execute(select(Store).where(col(Store.name) == store_name))).scalar_one_or_none()
    if store is None:
        raise QrError(f"没有门店「{store_name}」")
    task = (await s.execute(select(StoreTask).where(col(StoreTask.store_id) == store.id,
                                                    col(StoreTask.name) == task_name))).scalar_one_or_none()
    if task is None:
        names = (await s.execute(select(col(StoreTask.name)).where(col(StoreTask.store_id) == store.id))).scalars()
        raise QrError(f"门店「{store_name}」没有任务「{task_name}」（有：{'、'.join(names) or '无'}）")
    url = await StoreLinkBook(cfg).issue(s, task, now)
    png_path, svg_path = write(url, caption(store.name, task.name), out, f"qr-{store.id}-{task.id}-{now:%Y%m%d%H%M%S}")
    return f"{png_path}\n{svg_path}\n{url}"


async def revoke_qr(s: AsyncSession, cfg: Config, link: str, now: datetime | None = None) -> str:
    token = link.rstrip("/").rsplit("/", 1)[-1]
    from bot.links import revoke
    from bot.store_page import StoreLinkBook

    jti = StoreLinkBook(cfg).qr.signer.subject(token, (now or datetime.now(UTC)).timestamp())
    if jti is None or not await revoke(s, jti, now or datetime.now(UTC)):
        raise QrError("不是本服务签发的有效二维码链接（或已停用、已过期）；未做任何修改。")
    return f"revoked {jti}"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    s = sub.add_parser("qr", help="print a store task's QR code (PNG + SVG): --store S --task T; or --revoke LINK")
    s.add_argument("--store", help="store name (e.g. 长沙旗舰店)")
    s.add_argument("--task", help="task name (e.g. 门店接待)")
    s.add_argument("--out", default="qr", help="folder for the files (default ./qr)")
    s.add_argument("--revoke", help="a printed link (or its token) to withdraw for good")
    return s
