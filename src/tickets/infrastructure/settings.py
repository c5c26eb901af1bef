"""Configuration: one database URL chooses the store; everything else has defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

DEFAULT_DATABASE_URL = "sqlite:///./var/tickets.db"
MEBIBYTE = 1024 * 1024


class SettingsError(ValueError):
    """The configuration cannot be used."""


@dataclass(frozen=True)
class AttachmentLimits:
    """How much a client may attach: bytes per file, and files per upload request or message."""

    max_file_bytes: int = 25 * MEBIBYTE
    max_files: int = 10

    @classmethod
    def from_env(cls) -> AttachmentLimits:
        """`TICKETS_ATTACHMENT_MAX_BYTES` and `TICKETS_ATTACHMENT_MAX_FILES`, each a positive integer."""
        return cls(
            max_file_bytes=_positive_int("TICKETS_ATTACHMENT_MAX_BYTES", cls.max_file_bytes),
            max_files=_positive_int("TICKETS_ATTACHMENT_MAX_FILES", cls.max_files),
        )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class MailSettings:
    """The email channel: the domain orgs receive at, the sender, where mail goes, the intake port."""

    # Each org receives at `<slug>@<domain>`.
    domain: str = "tickets.localhost"
    # The From address (the org's name is its display name); default `support@<domain>`.
    sender: str = ""
    # smtp://[user:pass@]host:port, smtps://..., ?starttls=true; None: each mail is written as an
    # .eml file under `directory` instead (the embedded default: see what would be sent), by
    # default `mail/` beside the SQLite database (./var/mail), or ./var/mail.
    smtp_url: str | None = None
    directory: Path | None = None
    # `pfai serve` also runs the SMTP intake on this port, when set.
    intake_port: int | None = None
    # Links in mail (the portal) start with this.
    public_url: str = "http://127.0.0.1:8000"

    @property
    def from_address(self) -> str:
        return self.sender or f"support@{self.domain}"

    @classmethod
    def from_env(cls) -> MailSettings:
        """`TICKETS_MAIL_DOMAIN`, `TICKETS_MAIL_FROM`, `TICKETS_SMTP_URL`, `TICKETS_MAIL_DIR`,
        `TICKETS_SMTP_INTAKE_PORT`, `TICKETS_PUBLIC_URL`."""
        port = os.environ.get("TICKETS_SMTP_INTAKE_PORT", "").strip()
        smtp_url = os.environ.get("TICKETS_SMTP_URL", "").strip() or None
        if smtp_url is not None and urlparse(smtp_url).scheme not in ("smtp", "smtps"):
            raise SettingsError(
                f"TICKETS_SMTP_URL must be smtp://host:port or smtps://host:port, not {smtp_url!r}"
            )
        return cls(
            domain=os.environ.get("TICKETS_MAIL_DOMAIN", "").strip().lower() or cls.domain,
            sender=os.environ.get("TICKETS_MAIL_FROM", "").strip(),
            smtp_url=smtp_url,
            directory=Path(os.environ["TICKETS_MAIL_DIR"]) if os.environ.get("TICKETS_MAIL_DIR") else None,
            intake_port=_positive_int("TICKETS_SMTP_INTAKE_PORT", 0) if port else None,
            public_url=(os.environ.get("TICKETS_PUBLIC_URL", "").strip() or cls.public_url).rstrip("/"),
        )


@dataclass(frozen=True)
class AgentSettings:
    """Agents (docs/automation.md): the triage agent's threshold and models, external agents' POSTs."""

    # The triage agent changes a field only when its model is at least this sure (else it notes its guess).
    triage_confidence: float = 0.6
    # Trained models go here; default `models/` beside the SQLite database, or ./var/models.
    model_directory: Path | None = None
    # A model is retrained when older than this, or after this many new tickets in its org.
    retrain_after: timedelta = timedelta(days=1)
    retrain_after_tickets: int = 50
    # Seconds an external agent has to answer a dispatch POST.
    dispatch_timeout: float = 10.0

    @classmethod
    def from_env(cls) -> AgentSettings:
        """`TICKETS_TRIAGE_CONFIDENCE` (0-1), `TICKETS_MODEL_DIR`."""
        raw = os.environ.get("TICKETS_TRIAGE_CONFIDENCE", "").strip()
        try:
            confidence = float(raw) if raw else cls.triage_confidence
        except ValueError:
            confidence = -1.0
        if not 0.0 <= confidence <= 1.0:
            raise SettingsError(f"TICKETS_TRIAGE_CONFIDENCE must be a number from 0 to 1, not {raw!r}")
        directory = os.environ.get("TICKETS_MODEL_DIR", "").strip()
        return cls(triage_confidence=confidence, model_directory=Path(directory) if directory else None)


@dataclass(frozen=True)
class WebhookSettings:
    """Webhooks: whether they may go to private addresses (tests, local development), and their timeout."""

    allow_private: bool = False
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls) -> WebhookSettings:
        """`TICKETS_WEBHOOKS_ALLOW_PRIVATE=true` lets webhooks call loopback and private addresses."""
        raw = os.environ.get("TICKETS_WEBHOOKS_ALLOW_PRIVATE", "").strip().lower()
        if raw not in ("", "true", "false", "1", "0", "yes", "no"):
            raise SettingsError(f"TICKETS_WEBHOOKS_ALLOW_PRIVATE must be true or false, not {raw!r}")
        return cls(allow_private=raw in ("true", "1", "yes"))


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    attachment_limits: AttachmentLimits = AttachmentLimits()
    # How long a portal sign-in link stays usable, and how long a contact's session lasts.
    portal_link_lifetime: timedelta = timedelta(minutes=30)
    portal_session_lifetime: timedelta = timedelta(days=14)
    mail: MailSettings = MailSettings()
    agents: AgentSettings = AgentSettings()
    webhooks: WebhookSettings = WebhookSettings()

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=os.environ.get("TICKETS_DATABASE_URL", DEFAULT_DATABASE_URL),
            attachment_limits=AttachmentLimits.from_env(),
            portal_link_lifetime=timedelta(minutes=_positive_int("TICKETS_PORTAL_LINK_MINUTES", 30)),
            portal_session_lifetime=timedelta(days=_positive_int("TICKETS_PORTAL_SESSION_DAYS", 14)),
            mail=MailSettings.from_env(),
            agents=AgentSettings.from_env(),
            webhooks=WebhookSettings.from_env(),
        )

    @property
    def is_postgres(self) -> bool:
        return urlparse(self.database_url).scheme.startswith("postgres")

    def persistence_env(self) -> dict[str, str]:
        """The `eventsourcing` persistence settings for this database URL."""
        return persistence_env(self.database_url)

    def mail_directory(self) -> Path:
        """Where mail goes with no SMTP server: TICKETS_MAIL_DIR, else `mail/` beside the SQLite file."""
        if self.mail.directory is not None:
            return self.mail.directory
        if not self.is_postgres and str(path := sqlite_path(self.database_url)) != ":memory:":
            return path.parent / "mail"
        return Path("var/mail")

    def model_directory(self) -> Path:
        """Where trained models go: TICKETS_MODEL_DIR, else `models/` beside the SQLite file, else ./var/models."""
        if self.agents.model_directory is not None:
            return self.agents.model_directory
        if not self.is_postgres and str(path := sqlite_path(self.database_url)) != ":memory:":
            return path.parent / "models"
        return Path("var/models")

    def attachments_directory(self) -> Path | None:
        """Where an SQLite store keeps attachment bytes: beside its file (None: PostgreSQL, or in memory)."""
        if self.is_postgres:
            return None
        path = sqlite_path(self.database_url)
        return None if str(path) == ":memory:" else path.with_name(path.name + ".attachments")


def sqlite_path(url: str) -> Path:
    """The file of a sqlite URL, as SQLAlchemy reads it.

    `sqlite:///var/x.db` and `sqlite:///./var/x.db` are relative to the working directory;
    `sqlite:////srv/x.db` (four slashes) is absolute.
    """
    parsed = urlparse(url)
    raw = unquote(parsed.netloc + parsed.path)
    return Path(raw[1:] if raw.startswith("/") else raw)


def persistence_env(url: str) -> dict[str, str]:
    """Map a database URL onto the library's settings (sqlite or postgres module)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = sqlite_path(url)
        if str(path) in ("", "."):
            raise SettingsError(f"no file in database URL {url!r}; use sqlite:///path/to/file.db")
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    if parsed.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        dbname = parsed.path.lstrip("/")
        if not dbname:
            raise SettingsError(f"no database name in {url!r}; use postgresql://user@host:5432/dbname")
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            # Waiting forever on the table lock would hang a request: give up after 5 s.
            "POSTGRES_LOCK_TIMEOUT": options.get("lock_timeout", "5"),
            "POSTGRES_POOL_SIZE": options.get("pool_size", "5"),
            "POSTGRES_MAX_OVERFLOW": options.get("max_overflow", "10"),
        }
        if "schema" in options:
            env["POSTGRES_SCHEMA"] = options["schema"]
        return env
    raise SettingsError(
        f"unsupported database URL {url!r}: use sqlite:///file.db or postgresql://user@host/db"
    )
