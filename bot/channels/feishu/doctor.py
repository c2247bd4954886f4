"""``actionflow doctor`` for Feishu: read the credentials, ask for a tenant token, say plainly what is wrong."""

from __future__ import annotations

from bot.channels.feishu.channel import credentials_from_env
from bot.channels.feishu.client import FeishuClient, FeishuError
from bot.config import Config, ConfigError


async def check_feishu(cfg: Config) -> tuple[bool, list[str]]:
    fc = cfg.channels.feishu
    lines = [f"飞书检查（API {fc.api_base}）"]
    try:
        creds = credentials_from_env(fc)
    except ConfigError as exc:
        return False, [*lines, f"✗ 凭据：{exc}"]
    lines.append(f"✓ 环境变量齐全：App ID {creds.app_id}，"
                 + ("已配置 Encrypt Key（事件加密并验签）" if creds.encrypt_key else "未配置 Encrypt Key（建议配置：开启验签）"))
    client = FeishuClient(fc.api_base, creds.app_id, creds.app_secret, timeout_s=fc.request_timeout_s)
    try:
        await client.token()
    except FeishuError as exc:
        reason = str(exc) if exc.code is not None else f"连不上 {fc.api_base}：{exc}"
        return False, [*lines, f"✗ 获取 tenant_access_token 失败：{reason}"]
    finally:
        await client.close()
    url = f"{cfg.server.public_url.rstrip('/')}{fc.callback_path}"
    lines += [
        "✓ 获取 tenant_access_token 成功：App ID 与 App Secret 匹配",
        f"• 事件配置与回调配置的请求地址（两处填同一个）：{url}",
        "• 订阅事件：im.message.receive_v1；回调：card.action.trigger；权限：im:message、im:message:send_as_bot、im:resource",
        "结论：飞书凭据可用 ✅",
    ]
    return True, lines
