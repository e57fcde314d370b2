"""Configuration from the environment (see CONTRACT.md, Configuration)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from rtbook.core.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///rtbook.db"


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed RTBOOK_DATABASE_URL: either a SQLite file path or a PostgreSQL DSN."""

    raw: str
    dialect: str  # "sqlite" | "postgres"
    sqlite_path: Path | None = None

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        url = url.strip()
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///") :]
            if not path:
                raise ConfigError(
                    "RTBOOK_DATABASE_URL sqlite:/// tanpa nama file (no file path given)"
                )
            return cls(raw=url, dialect="sqlite", sqlite_path=Path(path))
        if url.startswith(("postgresql://", "postgres://")):
            return cls(raw=url, dialect="postgres")
        raise ConfigError(
            "RTBOOK_DATABASE_URL harus sqlite:///PATH atau postgresql://... "
            f"(unsupported database URL: {url.split(':', 1)[0]}:...)"
        )


def database_url() -> DatabaseURL:
    return DatabaseURL.parse(os.environ.get("RTBOOK_DATABASE_URL") or DEFAULT_DATABASE_URL)


def secret_key(db: DatabaseURL) -> str:
    """RTBOOK_SECRET_KEY, or for SQLite one generated once and kept beside the database."""
    key = os.environ.get("RTBOOK_SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ConfigError(
                "RTBOOK_SECRET_KEY terlalu pendek, minimal 32 karakter (must be >= 32 chars)"
            )
        return key
    if db.dialect != "sqlite" or db.sqlite_path is None:
        raise ConfigError(
            "RTBOOK_SECRET_KEY wajib diisi untuk PostgreSQL (required with PostgreSQL)"
        )
    path = db.sqlite_path.with_name(db.sqlite_path.name + ".secret")
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
