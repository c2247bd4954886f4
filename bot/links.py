"""Signed, expiring, revocable link tokens for any page (store QR codes today; any H5 link tomorrow).

API (for every page that hands out links):

- ``Links(cfg.security.token_secret, purpose)``: one signer per purpose — a token of one purpose opens nothing
  of another (the purpose is mixed into the HMAC key). Secret from the env var named by
  ``security.token_secret_env``; unset → one random secret per process (``bot.timeline_page``'s).
- ``await links.issue(session, subject, expires_at)`` → token: a random ``jti`` stored in ``link_token`` with
  what it opens; the token carries only the jti and its expiry — never a raw id.
- ``await links.open(session, token, now)`` → the subject, or None when forged, altered, expired or revoked.
- ``await revoke(session, jti | token, now)``: stored, so a printed QR code can be withdrawn without rotating
  the secret for everyone.

WHY a table and not only a signature: a printed QR code lives for months (``security.qr_token_ttl_s``, 180 days
by default); a lost or misused one must be revocable one by one.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.timeline_page import LinkSigner
from storage.models import LinkToken


class Links:
    def __init__(self, secret: str | None, purpose: str) -> None:
        self.purpose = purpose
        self.signer = LinkSigner(secret, purpose)

    async def issue(self, s: AsyncSession, subject: str, expires_at: datetime) -> str:
        jti = secrets.token_urlsafe(12)
        s.add(LinkToken(jti=jti, purpose=self.purpose, subject=subject, expires_at=expires_at))
        await s.flush()
        return self.signer.sign(jti, expires_at.timestamp())

    def jti(self, token: str, now: datetime) -> str | None:
        """The signed jti of a well-formed, unexpired token of this purpose (no database look-up)."""
        return self.signer.subject(token, now.timestamp())

    async def open(self, s: AsyncSession, token: str, now: datetime) -> str | None:
        jti = self.jti(token, now)
        row = await s.get(LinkToken, jti) if jti else None
        if row is None or row.purpose != self.purpose or row.revoked_at is not None or row.expires_at <= now:
            return None
        return row.subject


def ttl(seconds: int, now: datetime) -> datetime:
    return now + timedelta(seconds=seconds)


async def revoke(s: AsyncSession, jti: str, now: datetime) -> bool:
    """Withdraw one link for good; False when no such link (or already revoked)."""
    row = await s.get(LinkToken, jti)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    await s.flush()
    return True
