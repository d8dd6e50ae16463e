"""Notifications of new drift: a real SMTP server (aiosmtpd) and an HTTP server, both on
127.0.0.1 and started by the tests."""

from __future__ import annotations

import datetime as _dt
import json
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from esms_baseline.drift import Drift, compare
from esms_baseline.notify import (
    NotifyError,
    NotifySettings,
    notify,
    parse_hostport,
    post_webhook,
    send_mail,
    settings_from_env,
)
from tests.unit.test_drift import FakeCheck, drift_cli
from tests.unit.test_report import DEFAULT_FAILS, make_result

ROOT = Path(__file__).resolve().parents[2]
T0 = _dt.datetime(2026, 3, 1, 2, 30, tzinfo=_dt.UTC)
NEW = ("srv-dui", "ESMS-FW-02")


def new_drift() -> Drift:
    return compare(make_result(when=T0, fail=DEFAULT_FAILS),
                   make_result(when=T0 + _dt.timedelta(days=1),
                               fail={**DEFAULT_FAILS, NEW: (["22/tcp", "3389/tcp"], ["22/tcp"])}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- SMTP ---------------------------------------------------------------------------------

class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    controller_mod = pytest.importorskip("aiosmtpd.controller")
    inbox = Inbox()
    port = free_port()
    controller = controller_mod.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def test_mail_through_a_real_smtp_server(smtp_server: tuple[int, Inbox]) -> None:
    port, inbox = smtp_server
    settings = NotifySettings(smtp_host="127.0.0.1", smtp_port=port,
                              mail_from="esms@infogerant.example",
                              mail_to=("dsi@ehpad.example", "astreinte@infogerant.example"))
    send_mail(new_drift(), settings)
    (sender, rcpts, msg) = inbox.messages[0]
    assert sender == "esms@infogerant.example"
    assert rcpts == ["dsi@ehpad.example", "astreinte@infogerant.example"]
    assert msg["Subject"] == (
        "[esms-baseline] EHPAD Les Tilleuls : 1 nouvel(s) écart(s) de conformité")
    assert msg["X-ESMS-Exit-Code"] == "4"
    body = msg.get_content()
    assert "[NOUVEAU] ESMS-FW-02 Seuls les services déclarés sont ouverts" in body
    assert "srv-dui:" in body


def test_notify_only_on_new_drift(smtp_server: tuple[int, Inbox]) -> None:
    port, inbox = smtp_server
    settings = NotifySettings(smtp_host="127.0.0.1", smtp_port=port, mail_from="a@b.example",
                              mail_to=("c@d.example",))
    known = compare(make_result(when=T0, fail=DEFAULT_FAILS),
                    make_result(when=T0 + _dt.timedelta(days=1), fail=DEFAULT_FAILS))
    assert notify(known, settings).sent == ()
    assert notify(new_drift(), settings).sent == ("mail",)
    assert len(inbox.messages) == 1


def test_mail_to_a_closed_port_is_an_error() -> None:
    settings = NotifySettings(smtp_host="127.0.0.1", smtp_port=free_port(),
                              mail_from="a@b.example", mail_to=("c@d.example",),
                              timeout_seconds=5)
    with pytest.raises(NotifyError, match="e-mail to 127.0.0.1"):
        send_mail(new_drift(), settings)
    outcome = notify(new_drift(), settings)
    assert outcome.sent == () and len(outcome.errors) == 1


# --- webhook ------------------------------------------------------------------------------

class Hook:
    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.requests: list[tuple[str, dict[str, str], bytes]] = []


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Hook]]:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.requests.append((self.path, dict(self.headers), body))
            self.send_response(hook.status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/esms", hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_webhook_post(webhook: tuple[str, Hook]) -> None:
    url, hook = webhook
    assert post_webhook(new_drift(), NotifySettings(webhook_url=url)) == 204
    path, headers, body = hook.requests[0]
    assert path == "/hooks/esms" and headers["Content-Type"].startswith("application/json")
    doc = json.loads(body)
    assert doc["event"] == "esms-baseline.drift" and doc["exit_code"] == 4
    assert [(r["host"], r["control"]) for r in doc["new_failures"]] == [NEW]
    assert "NOUVEAU" in doc["text"]


def test_webhook_error_status(webhook: tuple[str, Hook]) -> None:
    url, hook = webhook
    hook.status = 500
    with pytest.raises(NotifyError, match="answered 500"):
        post_webhook(new_drift(), NotifySettings(webhook_url=url))


def test_drift_command_notifies_webhook_from_env(
    webhook: tuple[str, Hook], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, hook = webhook
    for var in ("ESMS_NOTIFY_SMTP", "ESMS_MAIL_TO", "ESMS_MAIL_FROM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ESMS_WEBHOOK_URL", url)
    fake = FakeCheck([make_result(when=T0, fail=DEFAULT_FAILS),
                      make_result(when=T0 + _dt.timedelta(days=1), fail=DEFAULT_FAILS),
                      make_result(when=T0 + _dt.timedelta(days=2),
                                  fail={**DEFAULT_FAILS, NEW: (1, 2)})])
    argv = [str(ROOT / "examples" / "site.yml"), "--history", str(tmp_path / "h.sqlite")]
    assert drift_cli(argv, fake) == 4  # first run: new
    assert drift_cli(argv, fake) == 1  # nothing new: no notification
    assert drift_cli(argv, fake) == 4
    assert len(hook.requests) == 2
    assert "notified: webhook" in capsys.readouterr().err
    last = json.loads(hook.requests[-1][2])
    assert [(r["host"], r["control"]) for r in last["new_failures"]] == [NEW]


# --- settings -----------------------------------------------------------------------------

def test_settings_from_env_and_checks() -> None:
    env = {"ESMS_NOTIFY_SMTP": "127.0.0.1:2525", "ESMS_MAIL_TO": "a@x.example, b@x.example",
           "ESMS_MAIL_FROM": "esms@x.example", "ESMS_WEBHOOK_URL": "http://127.0.0.1:1/h"}
    s = settings_from_env(env)
    assert (s.smtp_host, s.smtp_port, s.mail_to) == ("127.0.0.1", 2525,
                                                     ("a@x.example", "b@x.example"))
    assert s.mail and s.webhook
    s.check()
    cli = settings_from_env(env, smtp="127.0.0.1:25", mail_to="z@x.example")
    assert cli.smtp_port == 25 and cli.mail_to == ("z@x.example",)
    assert parse_hostport("[::1]:587") == ("::1", 587)
    assert parse_hostport("relay") == ("relay", 25)
    with pytest.raises(NotifyError):
        parse_hostport("relay:smtp")
    with pytest.raises(NotifyError, match="recipients"):
        settings_from_env({"ESMS_NOTIFY_SMTP": "127.0.0.1"}).check()
    with pytest.raises(NotifyError, match="STARTTLS"):
        settings_from_env({**env, "ESMS_SMTP_USER": "u"}).check()
    with pytest.raises(NotifyError, match="http"):
        NotifySettings(webhook_url="ftp://x").check()
    assert not settings_from_env({}).enabled


def test_drift_command_rejects_incomplete_mail_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("ESMS_MAIL_TO", "ESMS_MAIL_FROM"):
        monkeypatch.delenv(var, raising=False)
    fake = FakeCheck([])
    argv = [str(ROOT / "examples" / "site.yml"), "--history", str(tmp_path / "h.sqlite"),
            "--notify-smtp", "127.0.0.1:25"]
    assert drift_cli(argv, fake) == 2 and not fake.calls
    assert "recipients" in capsys.readouterr().err
