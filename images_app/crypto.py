"""Secrets at rest (registry passwords and tokens), encrypted with Fernet.

The key is BERTH_SECRETS_KEY when set (a Fernet key, or any text stretched with
HKDF), else derived from SECRET_KEY with HKDF-SHA256. Decryption also tries the
SECRET_KEY-derived key, so setting BERTH_SECRETS_KEY later does not strand the
secrets stored before: they are re-encrypted with the new key on their next save.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# Fixed context for the derivation: a key derived here is useless for anything else.
_HKDF_INFO = b"berth registry secrets v1"
_HKDF_SALT = b"berth"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the configured keys (a key changed)."""


def _derive(material: str) -> bytes:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(material.encode())
    return base64.urlsafe_b64encode(key)


def _as_fernet_key(text: str) -> bytes:
    """A ready Fernet key is used as is; any other text is stretched into one."""
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return text.encode()
    return _derive(text)


def _fernet() -> MultiFernet:
    # Built per call: settings may change under tests, and Fernet objects are cheap.
    keys = []
    if settings.BERTH_SECRETS_KEY:
        keys.append(Fernet(_as_fernet_key(settings.BERTH_SECRETS_KEY)))
    keys.append(Fernet(_derive(settings.SECRET_KEY)))
    return MultiFernet(keys)


def encrypt_secret(plaintext: str) -> str:
    """The ciphertext to store; an empty secret stays empty (nothing to protect)."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    """The secret back, or SecretUnreadable when no configured key opens it."""
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored password cannot be decrypted: DJANGO_SECRET_KEY or BERTH_SECRETS_KEY changed "
            "since it was saved. An admin must enter it again."
        ) from None
