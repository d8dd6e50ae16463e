"""Notifications of new drift: an e-mail through SMTP and/or a JSON POST to a webhook.

Settings come from the command line or the environment (:func:`settings_from_env`):

=========================  ====================================================
``ESMS_NOTIFY_SMTP``       ``HOST:PORT`` of the SMTP relay (port 25 if omitted)
``ESMS_MAIL_FROM``         sender address
``ESMS_MAIL_TO``           recipients, comma-separated
``ESMS_SMTP_STARTTLS``     ``1`` to upgrade the connection with STARTTLS
``ESMS_SMTP_USER``         login for SMTP AUTH (after STARTTLS only)
``ESMS_SMTP_PASSWORD``     its password (never on the command line)
``ESMS_WEBHOOK_URL``       URL that receives a JSON POST (http or https)
=========================  ====================================================

The webhook body is the drift as JSON (:meth:`Drift.to_dict`) plus ``"text"``, a plain-text
summary (chat tools such as Mattermost or Slack display that key).
"""

from __future__ import annotations

import ipaddress
import json
import os
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from esms_baseline.drift import Drift, format_text
from esms_baseline.errors import EsmsError
from esms_baseline.report.i18n import t

DEFAULT_TIMEOUT_SECONDS = 20.0


class NotifyError(EsmsError):
    """A notification could not be delivered (or its settings are incomplete)."""


@dataclass(frozen=True)
class NotifySettings:
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str | None = None
    mail_to: tuple[str, ...] = ()
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    webhook_url: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    lang: str = "fr"

    @property
    def mail(self) -> bool:
        return bool(self.smtp_host)

    @property
    def webhook(self) -> bool:
        return bool(self.webhook_url)

    @property
    def enabled(self) -> bool:
        return self.mail or self.webhook

    def check(self) -> None:
        """Raise :class:`NotifyError` for incomplete settings (before any check runs)."""
        if self.mail and (not self.mail_from or not self.mail_to):
            raise NotifyError("e-mail notification needs a sender (--mail-from / ESMS_MAIL_FROM)"
                              " and recipients (--mail-to / ESMS_MAIL_TO)")
        if self.smtp_user and not self.smtp_starttls:
            raise NotifyError("SMTP authentication is only sent over STARTTLS "
                              "(ESMS_SMTP_STARTTLS=1)")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise NotifyError(f"the webhook URL must be http:// or https://: {self.webhook_url}")


def parse_hostport(text: str, default_port: int = 25) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``, or ``host``) -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    try:
        return host, int(port) if port else default_port
    except ValueError:
        raise NotifyError(f"not a HOST:PORT: {text!r}") from None


def settings_from_env(
    env: Mapping[str, str] | None = None,
    *,
    smtp: str | None = None,
    mail_from: str | None = None,
    mail_to: str | None = None,
    webhook_url: str | None = None,
    lang: str = "fr",
) -> NotifySettings:
    """Settings from explicit values (the command line), else from the environment."""
    env = os.environ if env is None else env
    smtp = smtp or env.get("ESMS_NOTIFY_SMTP") or None
    host, port = parse_hostport(smtp) if smtp else (None, 25)
    to = mail_to or env.get("ESMS_MAIL_TO") or ""
    return NotifySettings(
        smtp_host=host,
        smtp_port=port,
        mail_from=mail_from or env.get("ESMS_MAIL_FROM") or None,
        mail_to=tuple(a.strip() for a in to.split(",") if a.strip()),
        smtp_starttls=env.get("ESMS_SMTP_STARTTLS", "") in ("1", "true", "yes"),
        smtp_user=env.get("ESMS_SMTP_USER") or None,
        smtp_password=env.get("ESMS_SMTP_PASSWORD") or None,
        webhook_url=webhook_url or env.get("ESMS_WEBHOOK_URL") or None,
        lang=lang,
    )


def build_message(drift: Drift, settings: NotifySettings) -> EmailMessage:
    """The e-mail announcing ``drift``'s new failures (plain text, UTF-8)."""
    msg = EmailMessage()
    msg["Subject"] = t("mail_subject", settings.lang, site=drift.site,
                       n=len(drift.new_failures))
    msg["From"] = settings.mail_from or ""
    msg["To"] = ", ".join(settings.mail_to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="esms-baseline.invalid")
    msg["X-ESMS-Site"] = drift.site
    msg["X-ESMS-Exit-Code"] = str(drift.exit_code)
    msg.set_content(format_text(drift, lang=settings.lang) + "\n")
    return msg


def send_mail(drift: Drift, settings: NotifySettings) -> None:
    settings.check()
    if not settings.smtp_host:
        raise NotifyError("no SMTP relay configured")
    msg = build_message(drift, settings)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.timeout_seconds) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"e-mail to {settings.smtp_host}:{settings.smtp_port} failed: "
                          f"{exc}") from exc


def webhook_payload(drift: Drift, lang: str = "fr") -> dict[str, object]:
    doc: dict[str, object] = {"event": "esms-baseline.drift", "schema_version": 1}
    doc.update(drift.to_dict())
    doc["text"] = format_text(drift, lang=lang)
    return doc


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post_webhook(drift: Drift, settings: NotifySettings) -> int:
    """POST the drift as JSON to the webhook; return the HTTP status (2xx, else an error)."""
    settings.check()
    if not settings.webhook_url:
        raise NotifyError("no webhook URL configured")
    body = json.dumps(webhook_payload(drift, settings.lang), ensure_ascii=False).encode()
    req = urllib.request.Request(settings.webhook_url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "esms-baseline",
    })
    # a loopback webhook (a local relay, the tests) never goes through an HTTP proxy
    host = urllib.parse.urlsplit(settings.webhook_url).hostname or ""
    handlers: list[urllib.request.BaseHandler] = (
        [urllib.request.ProxyHandler({})] if _is_loopback(host) else [])
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(req, timeout=settings.timeout_seconds) as resp:
            status = int(resp.status)
    except urllib.error.HTTPError as exc:
        raise NotifyError(f"webhook {settings.webhook_url} answered {exc.code}") from exc
    except (OSError, urllib.error.URLError) as exc:
        raise NotifyError(f"webhook {settings.webhook_url} failed: {exc}") from exc
    if not 200 <= status < 300:
        raise NotifyError(f"webhook {settings.webhook_url} answered {status}")
    return status


@dataclass(frozen=True)
class NotifyOutcome:
    sent: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def notify(drift: Drift, settings: NotifySettings, *, only_new: bool = True) -> NotifyOutcome:
    """Send every configured notification for ``drift`` (only if it has new failures, unless
    ``only_new`` is False). Delivery errors are collected, not raised: one channel failing
    does not stop the other."""
    if not settings.enabled or (only_new and not drift.has_new):
        return NotifyOutcome()
    sent: list[str] = []
    errors: list[str] = []
    if settings.mail:
        try:
            send_mail(drift, settings)
            sent.append("mail")
        except NotifyError as exc:
            errors.append(str(exc))
    if settings.webhook:
        try:
            post_webhook(drift, settings)
            sent.append("webhook")
        except NotifyError as exc:
            errors.append(str(exc))
    return NotifyOutcome(sent=tuple(sent), errors=tuple(errors))
