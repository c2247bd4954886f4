"""``actionflow doctor`` for DingTalk: read the credentials, ask for a token and a Stream ticket, say
plainly what is wrong.

A wrong Client ID/Secret shows on the token call; an app whose robot is not in Stream mode (or whose
egress is blocked) on ``connections/open``. Neither call counts against the org's monthly API quota
(token calls are exempt; a ticket is not an OpenAPI call). Secrets are never printed.
"""

from __future__ import annotations

from bot.channels.dingtalk.channel import credentials_from_env
from bot.channels.dingtalk.client import DingtalkClient, DingtalkError
from bot.channels.dingtalk.stream import UA
from bot.config import Config, ConfigError
from handlers.clock import SystemClock


async def check_dingtalk(cfg: Config) -> tuple[bool, list[str]]:
    dc = cfg.channels.dingtalk
    lines = [f"钉钉检查（API {dc.api_base}）"]
    try:
        creds = credentials_from_env(dc)
    except ConfigError as exc:
        return False, [*lines, f"✗ 凭据：{exc}", "  → 按 docs/dingtalk.md 设置环境变量后重试"]
    lines.append(f"✓ 环境变量齐全：Client ID {creds.client_id}")
    client = DingtalkClient(dc.api_base, creds.client_id, creds.client_secret, robot_code=dc.robot_code,
                            clock=SystemClock(), timeout_s=dc.request_timeout_s)
    try:
        try:
            await client.token()
        except DingtalkError as exc:
            reason = str(exc) if exc.code is not None or exc.status else f"连不上 {dc.api_base}：{exc.detail}"
            return False, [*lines, f"✗ 获取 accessToken 失败：{reason}"]
        lines.append("✓ 获取 accessToken 成功：Client ID 与 Client Secret 匹配")
        if dc.stream:
            try:
                await client.open_connection([{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}], UA)
            except DingtalkError as exc:
                return False, [*lines, f"✗ Stream 连接注册失败：{exc}",
                               "  → 机器人的消息接收模式须为 Stream 模式；出站需能访问 api.dingtalk.com:443 与 "
                               "wss-open-connection.dingtalk.com:443"]
            lines.append("✓ Stream 连接可注册（无需公网回调地址）")
    finally:
        await client.close()
    lines.append(f"• robotCode：{dc.robot_code or creds.client_id}（{'配置值' if dc.robot_code else '即 AppKey'}）")
    if dc.card_template_id:
        lines.append(f"• 卡片模板：{dc.card_template_id}（按钮回调走 Stream）")
    else:
        lines.append("! 未配置 card_template_id：卡片以 Markdown 发送，没有按钮（见 docs/dingtalk.md 导入模板）")
    lines.append("结论：钉钉凭据可用 ✅")
    return True, lines
