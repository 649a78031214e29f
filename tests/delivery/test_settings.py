"""Delivery settings fail at start with what is missing, and production refuses reset links that
would only reach the log unless that is said to be intended."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.notifier import EmailNotifier, LogNotifier, notifier_for
from core.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, jwt_secret="x" * 40, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "values",
    [{}, {"notifier": "log"}, {"notifier": "email"}, {"notifier": "email", "email_provider": "log"}],
    ids=["default", "log", "email-through-log", "email-provider-log"],
)
def test_production_refuses_reset_links_that_only_reach_the_log(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="NOTIFIER_LOG_IN_PRODUCTION=true"):
        # (set here: the test environment may say the log is intended, for production-mode servers)
        settings(app_env="production", notifier_log_in_production=False, **values)


def test_production_starts_with_smtp_or_when_the_log_is_intended() -> None:
    smtp = settings(
        app_env="production", notifier="email", email_provider="smtp", notifier_log_in_production=False
    )
    intended = settings(app_env="production", notifier_log_in_production=True)
    custom = settings(
        app_env="production",
        notifier="tests.auth.support.RecordingNotifier",
        notifier_log_in_production=False,
    )
    assert isinstance(notifier_for(smtp), EmailNotifier)
    assert isinstance(notifier_for(intended), LogNotifier)
    assert custom.notifier == "tests.auth.support.RecordingNotifier"


def test_development_keeps_the_log_notifier_by_default() -> None:
    assert isinstance(notifier_for(settings(app_env="development")), LogNotifier)


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({"webhook_provider": "http"}, "WEBHOOK_SECRET"),
        (
            {"push_ios_provider": "apns", "apns_key_id": "K"},
            "APNS_TEAM_ID, APNS_PRIVATE_KEY_FILE, APNS_TOPIC",
        ),
        ({"push_android_provider": "fcm"}, "FCM_PROJECT_ID, FCM_SERVICE_ACCOUNT_FILE"),
    ],
    ids=["webhook", "apns", "fcm"],
)
def test_a_chosen_provider_names_the_settings_it_lacks(values: dict[str, object], missing: str) -> None:
    with pytest.raises(ValidationError, match=f"need {missing}"):
        settings(**values)


def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(ValidationError, match="email_provider"):
        settings(email_provider="carrier-pigeon")


def test_https_receivers_are_required_in_production_only_unless_set() -> None:
    assert settings().webhook_https_required is False
    assert settings(app_env="production", notifier_log_in_production=True).webhook_https_required is True
    assert settings(webhook_require_https=True).webhook_https_required is True
