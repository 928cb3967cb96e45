"""The one Settings object. No other module reads the environment.

Built once in the entry point (`bot.cli`) and passed down, so tests build their own with whatever
values they need instead of patching the process environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.languages import LanguagePackError, registry_for

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_SECRET = "development-only-secret-change-me"
_PLACEHOLDERS = {"", "changeme", "change-me", "secret", DEVELOPMENT_SECRET}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,  # `KEY=` in .env means "not set", not an empty value
    )

    environment: Literal["development", "test", "production"] = Field(
        "development", alias="NEEDTOTALK_ENV"
    )
    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        "https://api.telegram.org/bot", alias="TELEGRAM_API_BASE_URL"
    )
    # Off only to measure the bot without Telegram's cap (benchmarks/load.py); never in use.
    telegram_rate_limit: bool = Field(True, alias="TELEGRAM_RATE_LIMIT")
    database_url: str = Field("sqlite:///var/needtotalk.db", alias="DATABASE_URL")
    # SQLite only. FULL: every commit is fsynced before it returns (what the inbox acknowledged
    # as stored survives a power loss). NORMAL: about one fsync fewer per commit (3 ms on the
    # development machine), but the last commits may be lost if the machine (not the process)
    # goes down. docs/learning.md measures both.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field("FULL", alias="SQLITE_SYNCHRONOUS")
    secret_key: SecretStr = Field(SecretStr(DEVELOPMENT_SECRET), alias="NEEDTOTALK_SECRET_KEY")
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    llm_model: str = Field("gpt-4o-mini", alias="LLM_MODEL")
    llm_timeout_seconds: float = Field(8.0, alias="LLM_TIMEOUT_SECONDS")
    counsellor_chat_id: int | None = Field(None, alias="COUNSELLOR_CHAT_ID")
    # Where counsellors review cases (the web console's public base URL). When set, the
    # deployment has a console, so the crisis answer may say that counsellors will see the flag.
    counsellor_console_url: str | None = Field(None, alias="COUNSELLOR_CONSOLE_URL")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    chroma_path: str = Field("var/chroma", alias="CHROMA_PATH")
    chroma_host: str | None = Field(None, alias="CHROMA_HOST")
    policies_dir: Path = Field(PROJECT_ROOT / "policies", alias="NEEDTOTALK_POLICIES_DIR")
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", alias="NEEDTOTALK_PROMPTS_DIR")
    kb_dir: Path = Field(PROJECT_ROOT / "kb", alias="NEEDTOTALK_KB_DIR")
    # The language of `needtotalk chat` sessions: a language pack's code (docs/languages.md).
    default_language: str = Field("en", alias="NEEDTOTALK_DEFAULT_LANGUAGE")

    @model_validator(mode="after")
    def _language_has_a_pack(self) -> Settings:
        """A default language without a pack in prompts_dir would fail on the first message."""
        try:
            packs = registry_for(self.prompts_dir).codes
        except LanguagePackError:
            return self  # a broken or missing pack is `needtotalk policies check`'s to report
        if self.default_language not in packs:
            raise ValueError(
                f"NEEDTOTALK_DEFAULT_LANGUAGE={self.default_language!r} has no language pack in "
                f"{self.prompts_dir} (packs: {', '.join(packs)})"
            )
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        """A placeholder secret would let anyone with the database unseal who wrote what."""
        if self.environment == "production":
            key = self.secret_key.get_secret_value()
            if key.strip().lower() in _PLACEHOLDERS or len(key) < 16:
                raise ValueError(
                    "NEEDTOTALK_SECRET_KEY is a placeholder or shorter than 16 characters; "
                    "set a long random value (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'`) before running in production"
                )
        return self

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key) or bool(self.openai_base_url)
