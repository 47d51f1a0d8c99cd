"""Service settings: one class, read from `BLACKBOARD_*` environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from blackboard import defaults


class Settings(BaseSettings):
    """Everything the service can be told; every field has an env var `BLACKBOARD_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="BLACKBOARD_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql://… of an external server; unset = embedded PostgreSQL.",
    )
    data_dir: Path = Field(
        default=Path(defaults.DATA_DIR),
        description="Where the embedded PostgreSQL and the generated admin token live.",
    )
    host: str = defaults.HOST
    port: int = Field(default=defaults.PORT, ge=0, le=65535)
    admin_token: SecretStr | None = Field(
        default=None, description="Admin bearer token; unset = generated once and kept in data_dir."
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest request body.")
    pool_size: int = Field(default=10, ge=1, le=200, description="Connections per API process.")
    auto_migrate: bool = Field(default=True, description="Run `upgrade head` when serving starts.")
    workers: int = Field(
        default=defaults.WORKERS, ge=1, le=64, description="API worker processes for `serve`."
    )
    log_level: str = "info"
    reaper_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="How often expired leases are taken back."
    )
    fallback_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="Longest delay if a NOTIFY is lost (waiters re-read)."
    )
    stream_stall_timeout_s: float = Field(
        default=30.0, gt=0, le=3600, description="Drop a stream subscriber that stops reading."
    )
    stream_keepalive_s: float = Field(
        default=15.0, gt=0, le=3600, description="A comment line this often on a quiet stream."
    )
    controller_in_process: bool = Field(
        default=True, description="Drive runs inside the API process (else: `blackboard worker`)."
    )
    run_lease_s: float = Field(
        default=15.0, gt=0, le=3600, description="How long a dead controller holds its runs."
    )
    presence_interval_s: float = Field(
        default=5.0, ge=0, le=3600, description="Least time between last-seen updates per agent."
    )
    webhook_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="How long a webhook receiver may take to answer."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts at one event before it is skipped."
    )
    webhook_backoff_s: float = Field(
        default=1.0, gt=0, le=3600, description="Wait before a webhook's first retry (doubles)."
    )

    @property
    def pgdata(self) -> Path:
        """Return the embedded PostgreSQL data directory."""
        return self.data_dir.resolve() / "pgdata"

    @property
    def admin_token_file(self) -> Path:
        """Return the file that keeps a generated admin token."""
        return self.data_dir.resolve() / "admin_token"
