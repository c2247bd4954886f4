"""Feishu event crypto: AES-256-CBC with SHA-256(Encrypt Key), and the request signature.

Written on ``cryptography`` rather than importing lark-oapi (49 MB, ~3 s to import, a sync dispatcher
that answers every failure with 500); the tests check both directions against lark-oapi's AESCipher
and its dispatcher. Every failure is one ``CallbackRefused`` so the caller answers 4xx and stores nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.base import CallbackRefused

MAX_JSON_DEPTH = 32


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def decrypt(encrypt_key: str, b64: str) -> str:
    """``{"encrypt": …}`` → the plaintext JSON string; refuses bad base64, length, padding or UTF-8."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise CallbackRefused("decrypt", "encrypt is not base64") from None
    if len(raw) < 32 or len(raw) % 16:
        raise CallbackRefused("decrypt", "ciphertext length")
    d = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(raw[:16])).decryptor()
    u = padding.PKCS7(128).unpadder()
    try:
        return (u.update(d.update(raw[16:]) + d.finalize()) + u.finalize()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise CallbackRefused("decrypt", "wrong key or corrupt ciphertext") from None


def encrypt(encrypt_key: str, plaintext: str, iv: bytes) -> str:
    """The sender's side (Feishu's); we use it to answer nothing, but tests and the fake need it."""
    p = padding.PKCS7(128).padder()
    data = p.update(plaintext.encode("utf-8")) + p.finalize()
    e = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + e.update(data) + e.finalize()).decode("ascii")


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """lowercase hex SHA-256 of timestamp + nonce + key, then the raw body bytes (not an HMAC)."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _depth(node: Any, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(node, dict):
        return max((_depth(v, level + 1) for v in node.values()), default=level)
    if isinstance(node, list):
        return max((_depth(v, level + 1) for v in node), default=level)
    return level


def load_object(text: str | bytes) -> dict[str, Any]:
    """Untrusted JSON → a dict, refusing non-objects and absurd nesting (RecursionError is a 500 otherwise)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise CallbackRefused("json", "body is not JSON") from None
    if not isinstance(data, dict):
        raise CallbackRefused("json", "body is not a JSON object")
    if _depth(data) > MAX_JSON_DEPTH:
        raise CallbackRefused("json", "JSON nested too deeply")
    return data
