"""``actionflow doctor`` for WeCom: read the credentials, ask WeCom for a token, say plainly what is wrong.

The most common set-up failures (wrong secret, server IP not trusted, missing env var) all show up on
the first gettoken, so one call is a good verdict. Secrets are never printed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.channels.wecom.channel import credentials_from_env
from bot.channels.wecom.client import WecomClient, WecomError
from bot.config import Config, ConfigError
from bot.guard import is_loopback


def public_url_warning(public_url: str) -> list[str]:
    """Card links and radar pictures (news_notice ``card_image``) are fetched by WeCom and by phones: a
    loopback or plain-HTTP ``server.public_url`` leaves them blank, though messages still flow."""
    url = urlsplit(public_url)
    if url.scheme == "https" and not is_loopback(url.hostname):
        return []
    return [f"⚠ server.public_url 是 {public_url}：手机和企业微信打不开卡片链接和雷达图，"
            "请改成外网可访问的 HTTPS 地址（见 docs/wecom.md）"]


async def check_wecom(cfg: Config) -> tuple[bool, list[str]]:
    wc = cfg.channels.wecom
    lines = [f"企业微信检查（API {wc.api_base}）"]
    try:
        creds = credentials_from_env(wc)
    except ConfigError as exc:
        return False, [*lines, f"✗ 凭据：{exc}", "  → 按 docs/wecom.md 设置环境变量后重试"]
    lines.append(f"✓ 环境变量齐全：企业ID {creds.corp_id}，AgentId {creds.agent_id}，Token/EncodingAESKey 格式正确")
    client = WecomClient(wc.api_base, creds.corp_id, creds.secret, creds.agent_id, timeout_s=wc.request_timeout_s)
    try:
        await client.token()
    except WecomError as exc:
        reason = str(exc) if exc.errcode is not None else f"连不上 {wc.api_base}：{exc.errmsg}"
        return False, [*lines, f"✗ 获取 access_token 失败：{reason}"]
    finally:
        await client.close()
    lines += [
        "✓ 获取 access_token 成功：企业ID 与 Secret 匹配，本机出口 IP 已被允许",
        f"• 回调 URL（应用 → 接收消息 → 设置API接收）：{cfg.server.public_url.rstrip('/')}{wc.callback_path}",
        *public_url_warning(cfg.server.public_url),
        f"• 群推送：appchat {'已配置 ' + wc.appchat_id if wc.appchat_id else '未配置'}；"
        f"群机器人 {'已配置' if creds.robot_key else '未配置'}",
        "结论：企业微信凭据可用 ✅",
    ]
    return True, lines
