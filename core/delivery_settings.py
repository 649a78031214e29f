"""Settings of notification delivery (issue 13, part 4): which provider serves each channel, their
breakers and network retries, and each provider's own settings. A part of `core.settings.Settings`,
which inherits these fields; the check below also reads the notifier and the environment from it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings


class DeliverySettings(BaseSettings):
    # --- Notification delivery (issue 13, part 4): the providers of core/delivery/, each behind a
    # circuit breaker. Which provider serves each channel ("log": written to the log, development).
    email_provider: Literal["log", "smtp"] = "log"
    webhook_provider: Literal["log", "http"] = "log"
    push_ios_provider: Literal["log", "apns", "fcm"] = "log"
    push_android_provider: Literal["log", "fcm"] = "log"
    push_web_provider: Literal["log", "fcm"] = "log"
    # In production the server refuses to start when password-reset links would only reach the log
    # (NOTIFIER=log, or NOTIFIER=email with EMAIL_PROVIDER=log), unless this says it is intended.
    notifier_log_in_production: bool = False
    # A CA bundle (PEM) the providers' TLS connections trust instead of the system's (a private relay).
    delivery_ca_file: Path | None = None
    # The breaker of a provider (of a webhook receiver: per host) opens after this many failures in a
    # row; while open, sends return PROVIDER_UNAVAILABLE at once; after the pause one is let through.
    delivery_breaker_threshold: int = Field(default=5, ge=1)
    delivery_breaker_open_s: float = Field(default=30.0, gt=0)
    # Attempts of one send when its connection is refused or dropped, within the send (a timeout is
    # not tried again at once); longer waits are the job engine's.
    delivery_network_attempts: int = Field(default=3, ge=1, le=10)
    delivery_network_retry_wait_s: float = Field(default=0.2, ge=0, le=5)
    # SMTP (EMAIL_PROVIDER=smtp). SMTP_SECURITY: "starttls" (port 587), "tls" (implicit, 465), "none".
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    email_from: str = "SwipeSavvy <no-reply@swipesavvy.example>"
    # The right-hand side of Message-IDs (<delivery-id@domain>); unset: the domain of EMAIL_FROM.
    email_message_id_domain: str | None = None
    # Signed webhooks (WEBHOOK_PROVIDER=http), Standard Webhooks: "whsec_" + base64 of the key.
    webhook_secret: str | None = None
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    # Refuse receivers that are not https; unset: refused in production only.
    webhook_require_https: bool | None = None
    # APNs, token-based (a .p8 key): https://api.sandbox.push.apple.com for development builds.
    apns_base_url: str = "https://api.push.apple.com"
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_private_key_file: Path | None = None
    # The app's bundle id (apns-topic).
    apns_topic: str | None = None
    apns_timeout_s: float = Field(default=10.0, gt=0)
    # FCM HTTP v1 with a service account's JSON key; the token URL is the key's token_uri unless set.
    fcm_base_url: str = "https://fcm.googleapis.com"
    fcm_project_id: str | None = None
    fcm_service_account_file: Path | None = None
    fcm_token_url: str | None = None
    fcm_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("delivery_ca_file", "apns_private_key_file", "fcm_service_account_file", mode="before")
    @classmethod
    def _no_path_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _delivery_is_configured(self) -> Self:
        # A start-up error names what is missing, instead of every send failing later.
        reset_logged = self.notifier == "log" or (self.notifier == "email" and self.email_provider == "log")
        if self.is_production and reset_logged and not self.notifier_log_in_production:
            raise ValueError(
                "APP_ENV=production would write password-reset links to the log only: set NOTIFIER=email"
                " with EMAIL_PROVIDER=smtp, or NOTIFIER_LOG_IN_PRODUCTION=true if that is intended"
            )
        needed: dict[str, object] = {}
        if self.webhook_provider == "http":
            needed["WEBHOOK_SECRET"] = self.webhook_secret
        if self.push_ios_provider == "apns":
            needed |= {
                "APNS_KEY_ID": self.apns_key_id,
                "APNS_TEAM_ID": self.apns_team_id,
                "APNS_PRIVATE_KEY_FILE": self.apns_private_key_file,
                "APNS_TOPIC": self.apns_topic,
            }
        if "fcm" in (self.push_ios_provider, self.push_android_provider, self.push_web_provider):
            needed |= {
                "FCM_PROJECT_ID": self.fcm_project_id,
                "FCM_SERVICE_ACCOUNT_FILE": self.fcm_service_account_file,
            }
        missing = [name for name, value in needed.items() if not value]
        if missing:
            raise ValueError(f"the chosen delivery providers need {', '.join(missing)}")
        return self

    @property
    def webhook_https_required(self) -> bool:
        return self.is_production if self.webhook_require_https is None else self.webhook_require_https
