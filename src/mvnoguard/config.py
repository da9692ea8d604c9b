"""The one settings class. Built once at the edge (CLI or API start-up) and passed in.

Every variable has the ``MVNOGUARD_`` prefix; ``.env.example`` lists them with the reason for
each default. Nothing else in the package reads the environment.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mvnoguard.errors import ConfigurationError

DEFAULT_HOME = Path("mvnoguard-data")
ENVIRONMENTS = ("development", "production")
# The folders commands create under the home as they need them.
HOME_MODE = 0o700  # owner only
HOME_FOLDERS = ("keys", "reports", "quarantine", "registry", "traffic", "evidence", "outbox")


_GLOB_CHARACTERS = frozenset("*?[]{}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MVNOGUARD_", env_file=None, extra="ignore")

    home: Path = Field(default=DEFAULT_HOME, description="Folder holding all state.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the OLTP store; default: SQLite file HOME/mvnoguard.db.",
    )
    vault_key: SecretStr | None = Field(
        default=None,
        description="Vault key ring as JSON (see PiiVault); default: HOME/keys/vault.json.",
    )
    policy_file: Path | None = Field(
        default=None, description="Real-name policy TOML; default: the embedded policy."
    )
    environment: str = Field(
        default="development", description="development or production (refuses weak setups)."
    )

    @field_validator("home", mode="before")
    @classmethod
    def _home_is_named(cls, value: Any) -> Any:
        # An empty MVNOGUARD_HOME would silently make the current folder the home.
        if isinstance(value, str | Path) and not str(value).strip():
            raise ValueError("is empty: name a folder, or unset it for the default")
        return value

    @classmethod
    def load(cls, home: Path | None = None) -> Settings:
        """The settings from the environment (``home`` overrides ``MVNOGUARD_HOME``); a value
        that cannot be read is a :class:`ConfigurationError` naming its variable."""
        try:
            return cls(home=home) if home is not None else cls()
        except ValidationError as exc:
            problems = "; ".join(
                f"MVNOGUARD_{'_'.join(str(p) for p in e['loc']).upper()} {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigurationError(f"cannot read the settings: {problems}") from None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'mvnoguard.db').resolve()}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    def ensure_home(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ConfigurationError(
                f"MVNOGUARD_ENVIRONMENT is {self.environment!r}: set it to "
                f"{' or '.join(ENVIRONMENTS)}"
            )
        wild = sorted(set(str(self.home.absolute())) & _GLOB_CHARACTERS)
        if wild:
            # The pipelines hand folders under the home to DuckDB and Spark as file patterns,
            # where these characters match other names: refused here, not met as a traceback.
            raise ConfigurationError(
                f"the home folder {self.home} holds {' '.join(wild)}, which the data engines "
                "read as a file pattern: choose a folder whose path has none of * ? [ ] { }",
                code="bad_home",
            )
        try:
            # A new home is the owner's alone: it holds the store, the key ring, the imported
            # registry and the citizens' outbox. An existing folder keeps the mode it has.
            self.home.mkdir(parents=True, mode=HOME_MODE, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the home folder {self.home}: {exc.strerror}; "
                "pass --home DIR or set MVNOGUARD_HOME to a writable folder"
            ) from exc
        for name in HOME_FOLDERS:
            path = self.home / name
            if path.exists() and not path.is_dir():
                raise ConfigurationError(
                    f"{path} is a file, but the home keeps a folder there: move the file away"
                )
        if self.environment == "production":
            self._check_production()

    def _check_production(self) -> None:
        if self.database_url is None:
            raise ConfigurationError(
                "production needs MVNOGUARD_DATABASE_URL (a PostgreSQL URL), not the SQLite default"
            )
        open_to = stat.S_IMODE(self.home.stat().st_mode) & ~HOME_MODE
        if open_to:
            raise ConfigurationError(
                f"the home folder {self.home} is open to other users (mode "
                f"{stat.S_IMODE(self.home.stat().st_mode):o}); production keeps it to its owner: "
                f"chmod 700 {self.home}",
                code="home_open_to_others",
            )
