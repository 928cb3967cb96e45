import pytest
from pydantic import ValidationError

from bot.config import Settings


def test_production_refuses_a_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="NEEDTOTALK_SECRET_KEY"):
        Settings(_env_file=None, NEEDTOTALK_ENV="production")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings(  # type: ignore[call-arg]
            _env_file=None, NEEDTOTALK_ENV="production", NEEDTOTALK_SECRET_KEY="changeme"
        )


def test_production_accepts_a_real_secret_and_development_the_default() -> None:
    real = Settings(  # type: ignore[call-arg]
        _env_file=None, NEEDTOTALK_ENV="production", NEEDTOTALK_SECRET_KEY="x" * 40
    )
    assert real.environment == "production"
    assert Settings(_env_file=None).environment == "development"  # type: ignore[call-arg]


def test_llm_is_enabled_by_a_key_or_a_base_url() -> None:
    assert not Settings(_env_file=None).llm_enabled  # type: ignore[call-arg]
    assert Settings(_env_file=None, OPENAI_BASE_URL="http://127.0.0.1:1/v1").llm_enabled  # type: ignore[call-arg]
