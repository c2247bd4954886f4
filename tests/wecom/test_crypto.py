"""Callback crypto cross-checked with wechatpy and with an independent implementation on `cryptography`."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.wecom.crypto import CallbackCrypto, CallbackRefused, check_aes_key, parse_xml, signature

TOKEN = "spamtest"
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "wx5823bf96d3bd56c7"


def independent_encrypt(plaintext: str, key43: str, corp_id: str, token: str, ts: str, nonce: str) -> tuple[str, str]:
    """DOC-CRYPTO by hand: random(16) ‖ len(4, BE) ‖ msg ‖ corpid, PKCS#7 to 32, AES-256-CBC, IV = key[:16]."""
    key = base64.b64decode(key43 + "=")
    msg = plaintext.encode()
    raw = os.urandom(16) + struct.pack(">I", len(msg)) + msg + corp_id.encode()
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    b64 = base64.b64encode(enc.update(raw) + enc.finalize()).decode()
    return b64, hashlib.sha1("".join(sorted([token, ts, nonce, b64])).encode()).hexdigest()


def independent_decrypt(b64: str, key43: str) -> tuple[str, str]:
    key = base64.b64decode(key43 + "=")
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    raw = dec.update(base64.b64decode(b64)) + dec.finalize()
    raw = raw[: -raw[-1]]
    (n,) = struct.unpack(">I", raw[16:20])
    return raw[20:20 + n].decode(), raw[20 + n:].decode()


def envelope(encrypt: str) -> bytes:
    return f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


def parts(reply_xml: str) -> tuple[str, str]:
    root = parse_xml(reply_xml)
    return root.findtext("Encrypt") or "", root.findtext("MsgSignature") or ""


def test_ours_to_wechatpy_and_back() -> None:
    ours, theirs = CallbackCrypto(TOKEN, KEY, CORP), WeChatCrypto(TOKEN, KEY, CORP)
    msg = "<xml><Content><![CDATA[你好，瑞丰机械]]></Content></xml>"
    reply = ours.encrypt(msg, "nonce1", "1700000000")
    assert theirs.decrypt_message(reply, parts(reply)[1], "1700000000", "nonce1") == msg
    theirs_reply = theirs.encrypt_message(msg, "nonce2", "1700000001")
    enc, sig = parts(theirs_reply)
    assert ours.decrypt(envelope(enc), sig, "1700000001", "nonce2") == msg


def test_independent_implementation_agrees() -> None:
    ours = CallbackCrypto(TOKEN, KEY, CORP)
    msg = "<xml><MsgType>text</MsgType></xml>"
    enc, sig = independent_encrypt(msg, KEY, CORP, TOKEN, "1700000000", "abc")
    assert ours.decrypt(envelope(enc), sig, "1700000000", "abc") == msg
    enc2, sig2 = parts(ours.encrypt(msg, "abc", "1700000000"))
    assert independent_decrypt(enc2, KEY) == (msg, CORP)
    assert sig2 == signature(TOKEN, "1700000000", "abc", enc2)


def test_url_verification_echostr() -> None:
    ours = CallbackCrypto(TOKEN, KEY, CORP)
    enc, sig = independent_encrypt("1616140317555161061", KEY, CORP, TOKEN, "1409659813", "1372623149")
    assert ours.verify_url(sig, "1409659813", "1372623149", enc) == "1616140317555161061"
    with pytest.raises(CallbackRefused) as e:
        ours.verify_url("0" * 40, "1409659813", "1372623149", enc)
    assert e.value.reason == "signature"


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=3000), nonce=st.text(alphabet="abcdef0123456789", min_size=1, max_size=16),
       ts=st.integers(min_value=0, max_value=2**32).map(str))
def test_round_trip(text: str, nonce: str, ts: str) -> None:
    ours, theirs = CallbackCrypto(TOKEN, KEY, CORP), WeChatCrypto(TOKEN, KEY, CORP)
    enc, sig = parts(ours.encrypt(text, nonce, ts))
    assert ours.decrypt(envelope(enc), sig, ts, nonce) == text
    assert theirs.decrypt_message({"Encrypt": enc}, sig, ts, nonce) == text
    assert independent_decrypt(enc, KEY) == (text, CORP)


def test_refusals() -> None:
    ours = CallbackCrypto(TOKEN, KEY, CORP)
    msg = "<xml/>"
    enc, sig = independent_encrypt(msg, KEY, CORP, TOKEN, "1", "n")
    cases = {
        "signature": (envelope(enc), "f" * 40),
        "corp_id": (envelope(independent_encrypt(msg, KEY, "wwOTHERCORP", TOKEN, "1", "n")[0]),
                    independent_encrypt(msg, KEY, "wwOTHERCORP", TOKEN, "1", "n")[1]),
        "xml": (b"<xml><Encrypt>", sig),
    }
    for reason, (body, s) in cases.items():
        if reason == "corp_id":  # re-sign the exact ciphertext we send
            e = parse_xml(body).findtext("Encrypt") or ""
            s = signature(TOKEN, "1", "n", e)
        with pytest.raises(CallbackRefused) as exc:
            ours.decrypt(body, s, "1", "n")
        assert exc.value.reason == reason
    other_key = CallbackCrypto(TOKEN, "a" * 43, CORP)  # right signature, wrong AES key → garbage, refused
    with pytest.raises(CallbackRefused) as exc:
        other_key.decrypt(envelope(enc), sig, "1", "n")
    assert exc.value.reason in ("decrypt", "corp_id")


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>',
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>',
    b'<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/evil.dtd"><xml><Encrypt>x</Encrypt></xml>',
])
def test_hostile_xml_is_refused(doc: bytes) -> None:
    with pytest.raises(CallbackRefused) as exc:
        parse_xml(doc)
    assert exc.value.reason == "xml"


def test_bad_aes_key_is_caught_at_start() -> None:
    for bad in ("short", "!" * 43, KEY[:-1] + "="):
        with pytest.raises(ValueError):
            check_aes_key(bad)
