"""Feishu crypto against the platform's own SDK (lark-oapi) and an independent encryptor."""

from __future__ import annotations

import base64
import json
import os

import pytest

from bot.channels.base import CallbackRefused
from bot.channels.feishu.crypto import decrypt, encrypt, load_object, signature
from tests.feishu.fake_server import Callbacks
from tests.feishu.fake_server import encrypt as feishu_encrypt

KEY = "ek-fake-0123456789abcdef"
SAMPLES = ["{}", '{"text":"今天拜访了瑞丰机械张总"}', "a" * 16, "好" * 32, '{"emoji":"👍🏻"}', "x" * 31]


@pytest.mark.parametrize("text", SAMPLES)
def test_what_feishu_encrypts_we_decrypt(text: str) -> None:
    assert decrypt(KEY, feishu_encrypt(KEY, text)) == text


@pytest.mark.parametrize("text", SAMPLES)
def test_what_we_encrypt_lark_oapi_decrypts(text: str) -> None:
    from lark_oapi.core.utils.decryptor import AESCipher

    assert AESCipher(KEY).decrypt_str(encrypt(KEY, text, os.urandom(16))) == text


@pytest.mark.parametrize("bad", [
    "not base64!!", base64.b64encode(b"short").decode(), base64.b64encode(os.urandom(40)).decode(),
    feishu_encrypt("another-key", '{"a":1}'), "",
], ids=["not-base64", "short", "random-bytes", "other-key", "empty"])
def test_bad_ciphertext_is_refused_never_a_crash(bad: str) -> None:
    with pytest.raises(CallbackRefused):
        decrypt(KEY, bad)


def test_deep_or_non_object_json_is_refused() -> None:
    for text in ["[" * 100_000, "[1,2]", "null", '{"a":' * 40 + "1" + "}" * 40]:
        with pytest.raises(CallbackRefused):
            load_object(text)


def _lark_status(headers: dict[str, str], body: bytes) -> int:
    import lark_oapi as lark
    from lark_oapi.core.model import RawRequest

    handler = (lark.EventDispatcherHandler.builder(KEY, "vt-x")
               .register_p2_im_message_receive_v1(lambda _e: None).build())
    req = RawRequest()
    req.uri = "/feishu/events"
    req.headers = headers
    req.body = body
    return int(handler.do(req).status_code)


def test_lark_oapi_accepts_the_signed_bodies_our_fake_sends_and_rejects_a_tampered_one() -> None:
    cb = Callbacks("cli_x", "vt-x", KEY)
    headers, body = cb.post(cb.message("ou_1", "text", {"text": "hi"}, "om_1", 1_700_000_000), 1_700_000_000)
    assert headers["X-Lark-Signature"] == signature("1700000000", "nonce-1", KEY, body)
    assert _lark_status(headers, body) == 200
    tampered = {**headers, "X-Lark-Signature": signature("1700000000", "nonce-2", KEY, body)}
    assert _lark_status(tampered, body) != 200
    # re-serialised JSON (same meaning, other bytes) no longer matches the signature
    other = json.dumps(json.loads(body), indent=1).encode()
    assert signature("1700000000", "nonce-1", KEY, other) != headers["X-Lark-Signature"]
