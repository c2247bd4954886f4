"""Robot HTTP mode: the signature DingTalk puts on each callback (headers ``timestamp`` and ``sign``).

``sign = base64(HMAC-SHA256(key=appSecret, msg=f"{timestamp}\\n{appSecret}"))`` with ``timestamp`` in ms.
Only the timestamp is signed, not the body, so a captured pair could carry any body while it is fresh:
the window is checked first (at most the documented hour), the comparison is constant-time, the
endpoint is HTTPS-only in production, and messages dedupe by ``msgId`` in the inbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from bot.channels.base import CallbackRefused


def sign(timestamp_ms: str, secret: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def check_signature(timestamp: str, signature: str, secret: str, *, now_ms: int, window_s: int) -> None:
    """Refuse (``CallbackRefused``) a callback outside the window or with a wrong signature."""
    try:
        skew_ms = abs(now_ms - int(timestamp))
    except ValueError:
        raise CallbackRefused("replay", "timestamp missing or not a number") from None
    if skew_ms > window_s * 1000:
        raise CallbackRefused("replay", f"timestamp {skew_ms // 1000} s off")
    if not signature or not hmac.compare_digest(sign(timestamp, secret).encode(), signature.encode()):
        raise CallbackRefused("signature", "sign does not match")
