"""Callback crypto: wechatpy's WeChatCrypto behind a hardened front door.

wechatpy does the AES/PKCS#7/receive-id work (the platform's reference behaviour). Around it we add
what it lacks: a constant-time signature check before any decryption, an XML parser that refuses DTDs,
entities and oversized documents, and one exception type whatever went wrong inside (wechatpy raises
raw ``struct.error``/``UnicodeDecodeError`` for a wrong key), so the caller can answer 4xx and store nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.channels.base import CallbackRefused

MAX_XML_CHARS = 1_000_000

__all__ = ["CallbackCrypto", "CallbackRefused", "check_aes_key", "parse_xml", "signature"]


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """sha1 of the four values sorted lexicographically (DOC-CRYPTO)."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode("utf-8")).hexdigest()


def parse_xml(text: str | bytes) -> Element:
    """Parse untrusted XML: no DTD, no entities, no external references, bounded size."""
    if len(text) > MAX_XML_CHARS:
        raise CallbackRefused("xml", "XML document too large")
    try:
        return fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise CallbackRefused("xml", f"refused XML: {type(exc).__name__}") from None


def check_aes_key(aes_key: str) -> None:
    """EncodingAESKey is exactly 43 base64 characters decoding to 32 bytes; checked at start-up."""
    try:
        raw = base64.b64decode(aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(aes_key) != 43 or len(raw) != 32:
        raise ValueError("EncodingAESKey must be the 43 characters shown in the WeCom console")


class CallbackCrypto:
    """Verify and decrypt WeCom callbacks for one app (token, EncodingAESKey, corp id)."""

    def __init__(self, token: str, aes_key: str, corp_id: str) -> None:
        check_aes_key(aes_key)
        self.token = token
        self.corp_id = corp_id
        self._wc = WeChatCrypto(token, aes_key, corp_id)

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), (msg_signature or "").lower().encode()):
            raise CallbackRefused("signature", "bad msg_signature")

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """GET verification: the decrypted echostr to answer with."""
        self._check(msg_signature, timestamp, nonce, echostr)
        return self._unwrap(lambda: self._wc.check_signature(msg_signature, timestamp, nonce, echostr))

    def decrypt(self, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        """POST body (outer XML with ``Encrypt``) → the decrypted inner XML text."""
        root = parse_xml(body)
        node = root.find("Encrypt")
        encrypted = (node.text or "").strip() if node is not None else ""
        if root.tag != "xml" or not encrypted:
            raise CallbackRefused("xml", "no Encrypt element")
        self._check(msg_signature, timestamp, nonce, encrypted)
        return self._unwrap(lambda: self._wc.decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce))

    def encrypt(self, plaintext: str, nonce: str, timestamp: str) -> str:
        """A passive reply (or, in tests, a callback body): the full signed ``<xml><Encrypt>…`` document."""
        return str(self._wc.encrypt_message(plaintext, nonce, timestamp))

    def _unwrap(self, fn: Callable[[], Any]) -> str:
        try:
            out = fn()
        except InvalidSignatureException:
            raise CallbackRefused("signature", "bad msg_signature") from None
        except InvalidCorpIdException:
            raise CallbackRefused("corp_id", "receive id is not our corp id") from None
        except Exception as exc:  # wechatpy lets struct/unicode/padding errors through: all mean "not ours"
            raise CallbackRefused("decrypt", f"cannot decrypt: {type(exc).__name__}") from None
        return out.decode("utf-8") if isinstance(out, bytes) else str(out)
