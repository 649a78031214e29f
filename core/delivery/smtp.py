"""E-mail over SMTP (aiosmtplib): a stable Message-ID per delivery and RFC 8058 one-click unsubscribe.

A resend of a delivery carries the Message-ID of the first attempt (`<delivery-id@domain>`), so a
mail system or client that saw it already can drop the repeat.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from core.delivery.message import Code, NetworkFailure, Outgoing, ProviderFailure, Result
from core.delivery.tls import client_context
from core.settings import Settings

# One address, no display name, nothing that could start another header or SMTP command.
_ADDRESS = re.compile(r"^[^\s@<>,;\"]+@[^\s@<>,;\"]+$")


def message_id_domain(settings: Settings) -> str:
    if settings.email_message_id_domain:
        return settings.email_message_id_domain
    _, address = parseaddr(settings.email_from)
    return address.rpartition("@")[2] or "localhost"


class SmtpProvider:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.domain = message_id_domain(settings)
        self._tls = client_context(settings) if settings.smtp_security != "none" else None

    def compose(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.settings.email_from
        mail["To"] = message.address
        mail["Subject"] = message.title
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = f"<{message.delivery_id}@{self.domain}>"
        # RFC 3834: no vacation replies to an automatic message.
        mail["Auto-Submitted"] = "auto-generated"
        text = message.body
        if message.unsubscribe_url:
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            # RFC 8058 one-click works only with an https URI (the mail system's DKIM must sign both).
            if message.unsubscribe_url.startswith("https://"):
                mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            text = f"{text}\n\n--\nUnsubscribe: {message.unsubscribe_url}\n"
        mail.set_content(text)
        return mail

    async def send(self, message: Outgoing) -> Result:
        if not _ADDRESS.match(message.address):
            return Result.rejected(Code.INVALID_RECIPIENT, reason="address")
        try:
            mail = self.compose(message)
        except ValueError:  # a header the email package refuses (a line break in the title)
            return Result.rejected(Code.MESSAGE_REFUSED, reason="headers")
        settings = self.settings
        try:
            await aiosmtplib.send(
                mail,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                tls_context=self._tls,
                timeout=settings.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            return _recipient_refused(refused.recipients[0].code if refused.recipients else 550)
        except aiosmtplib.SMTPRecipientRefused as refused:
            return _recipient_refused(refused.code)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise ProviderFailure(Code.PROVIDER_AUTH, reason=f"SMTP {exc.code}") from None
        except aiosmtplib.SMTPSenderRefused as exc:
            raise ProviderFailure(Code.PROVIDER_ERROR, reason=f"SMTP sender {exc.code}") from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600 and isinstance(exc, aiosmtplib.SMTPDataError):
                return Result.rejected(Code.MESSAGE_REFUSED, reason=f"SMTP {exc.code}")
            raise ProviderFailure(Code.PROVIDER_ERROR, reason=f"SMTP {exc.code}") from None
        except aiosmtplib.SMTPTimeoutError:  # connect timeouts too: not tried again within the send
            raise ProviderFailure(Code.TIMEOUT, reason="SMTP") from None
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, ConnectionError) as exc:
            raise NetworkFailure(f"SMTP {type(exc).__name__}") from None
        except aiosmtplib.SMTPException as exc:
            raise ProviderFailure(Code.PROVIDER_ERROR, reason=f"SMTP {type(exc).__name__}") from None
        return Result.sent(mail["Message-ID"])

    async def aclose(self) -> None:
        return None


def _recipient_refused(code: int) -> Result:
    # 5xx: the mailbox does not exist (or never will take mail from us); 4xx: try later (greylisting,
    # a full mailbox), about this recipient only, so not a failure of the server.
    if 500 <= code < 600:
        return Result.rejected(Code.INVALID_RECIPIENT, reason=f"SMTP {code}")
    return Result.retry(Code.PROVIDER_ERROR, reason=f"SMTP {code}")
