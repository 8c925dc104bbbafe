"""Secrets a project hands out: API keys (stored hashed), ping keys, badge keys.

API keys follow Healthchecks: ``hcw_`` (read-write) or ``hcr_`` (read-only) plus 28
alphanumeric characters. We store ``<first 8 chars of the random part>.<HMAC-SHA256 hex>``
(Healthchecks' format). The HMAC is deterministic, so a key is found by an indexed equality
lookup of its stored form and then compared in constant time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_ALPHANUMERIC = string.ascii_letters + string.digits
READ_WRITE_PREFIX = "hcw_"
READ_ONLY_PREFIX = "hcr_"
_password_hasher = PasswordHasher()


def _random_alphanumeric(length: int, alphabet: str = _ALPHANUMERIC) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_api_key(*, read_only: bool = False) -> str:
    prefix = READ_ONLY_PREFIX if read_only else READ_WRITE_PREFIX
    return prefix + _random_alphanumeric(28)


def hash_api_key(key: str, secret_key: str) -> str:
    digest = hmac.new(secret_key.encode(), key.encode(), hashlib.sha256).hexdigest()
    return f"{key[4:12]}.{digest}"


def api_key_matches(key: str, stored: str, secret_key: str) -> bool:
    if not stored:
        return False
    return hmac.compare_digest(hash_api_key(key, secret_key), stored)


def new_ping_key() -> str:
    """22 lowercase letters and digits, as in Healthchecks (slug ping URLs, email pings)."""
    return _random_alphanumeric(22, string.ascii_lowercase + string.digits)


def new_badge_key() -> str:
    return secrets.token_urlsafe(16)


def hash_password(password: str) -> str:
    return _password_hasher.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        return _password_hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# Argon2 costs tens of milliseconds of CPU by design: off the event loop, so one sign-in
# does not stall the pings and pages the same process is serving.
async def hash_password_off_loop(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_off_loop(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    return await asyncio.to_thread(verify_password, password, stored)
