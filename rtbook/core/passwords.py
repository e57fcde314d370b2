"""Password hashing with argon2id at OWASP ASVS parameters (t=2, m=19 MiB, p=1), and
the policy for new passwords (ASVS 5.0 V6.2: at least 8 characters, not a common
password, not the username).

The common-password list ships in the package (data/common-passwords.txt; where it
comes from is written at its top and in docs/sessions.md). Comparison ignores case, so
``Password1`` is as refused as ``password1``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
COMMON_PASSWORDS_FILE = "common-passwords.txt"

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """CPU-heavy (tens of ms): call it off the event loop."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash("rtbook-dummy-password-for-timing")


def verify_nothing(password: str) -> bool:
    """Spend the time of one verification and fail: a login for an unknown user (or one
    without a password) then takes as long as a wrong password for a known one."""
    verify_password(_dummy_hash(), password)
    return False


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    text = resources.files("rtbook.core").joinpath("data", COMMON_PASSWORDS_FILE).read_text()
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def check_new_password(password: str, username: str | None) -> str | None:
    """Why a new password is refused (one line, Bahasa Indonesia first), or None."""
    if len(password) < MIN_LENGTH:
        return f"kata sandi minimal {MIN_LENGTH} karakter (password must be >= {MIN_LENGTH} chars)"
    lowered = password.lower()
    if username and lowered == username.strip().lower():
        return "kata sandi tidak boleh sama dengan nama pengguna (password equals the username)"
    if lowered in common_passwords():
        return "kata sandi terlalu umum, pilih yang lain (password is too common)"
    return None


def password_problem(password: str) -> str | None:
    """:func:`check_new_password` when the username is not known."""
    return check_new_password(password, None)
