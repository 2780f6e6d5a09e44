"""Encryption at rest: Fernet (AES-128-CBC with HMAC-SHA256) with the keys of
ENSEMBLE_CREDENTIALS_KEYS. The first key encrypts; every key decrypts, so a new key is
put first, secrets keep working, and `service_credential rotate-key` re-encrypts them
before the old key is dropped."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialsKeyError(Exception):
    """A stored secret that none of the configured keys can decrypt."""


def parse_keys(keys: list[str]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured(
            "ENSEMBLE_CREDENTIALS_KEYS is not set: give one or more Fernet keys, comma-separated "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        )
    try:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured("ENSEMBLE_CREDENTIALS_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes).") from None


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return parse_keys(list(keys))


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.ENSEMBLE_CREDENTIALS_KEYS))


def encrypt(secret: str) -> bytes:
    return _fernet().encrypt(secret.encode())


def decrypt(ciphertext: bytes) -> str:
    try:
        return _fernet().decrypt(bytes(ciphertext)).decode()
    except InvalidToken:
        raise CredentialsKeyError("none of ENSEMBLE_CREDENTIALS_KEYS decrypts this secret") from None


def reencrypt(ciphertext: bytes) -> bytes:
    """The same secret under the first key."""
    try:
        return _fernet().rotate(bytes(ciphertext))
    except InvalidToken:
        raise CredentialsKeyError("none of ENSEMBLE_CREDENTIALS_KEYS decrypts this secret") from None
