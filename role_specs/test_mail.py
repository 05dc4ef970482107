"""Role mail: postfix accepts mail for the company domain and delivers it locally.

smtplib from the test process: the banner and EHLO, a message for ops@example.com accepted
and delivered to the ops mailbox, the postmaster alias, and relaying to other domains refused.
"""
from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage

import pytest

from harness.waits import eventually
from role_specs.base_checks import *  # noqa: F401,F403  (base checks on every node)

pytestmark = pytest.mark.cluster(mail=1, env="testing")

DOMAIN = "example.com"


@pytest.fixture
def smtp(node):
    client = eventually(lambda: smtplib.SMTP(node.ip, 25, timeout=10), timeout=30,
                        what="smtp on 25")
    yield client
    try:
        client.quit()
    except smtplib.SMTPServerDisconnected:
        pass


def message(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "spec@example.org"
    msg["To"] = to
    msg["Subject"] = f"role spec {uuid.uuid4().hex}"
    msg.set_content("Sent by role_specs/test_mail.py.\n")
    return msg


def mailbox_has(host, user: str, subject: str) -> None:
    mbox = host.file(f"/var/mail/{user}")
    assert mbox.exists and subject in mbox.content_string, f"{subject} not in /var/mail/{user}"


def test_banner_and_ehlo(node, smtp, policy):
    code, banner = smtp.docmd("NOOP")
    assert code == 250
    code, answer = smtp.ehlo("spec.example.org")
    assert code == 250
    assert answer.decode().splitlines()[0] == f"{node.name}.{DOMAIN}"
    for extension in ("pipelining", "8bitmime", "starttls", "size"):
        assert smtp.has_extn(extension), extension
    assert policy["attributes"]["postfix"]["domain"] == DOMAIN


def test_greeting_names_the_mail_host(node):
    with smtplib.SMTP(timeout=10) as client:
        code, greeting = client.connect(node.ip, 25)
    assert code == 220
    assert greeting.decode().startswith(f"{node.name}.{DOMAIN} ESMTP")


def test_accepts_and_delivers_mail_for_the_domain(host, smtp):
    msg = message(f"ops@{DOMAIN}")
    assert smtp.send_message(msg) == {}          # no refused recipients
    eventually(lambda: mailbox_has(host, "ops", msg["Subject"]), timeout=30,
               what="delivery to /var/mail/ops")


def test_postmaster_reaches_ops_through_aliases(host, smtp):
    msg = message(f"postmaster@{DOMAIN}")
    assert smtp.send_message(msg) == {}
    eventually(lambda: mailbox_has(host, "ops", msg["Subject"]), timeout=30,
               what="postmaster -> root -> ops")


def test_refuses_to_relay_for_other_domains(smtp):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.send_message(message("someone@example.net"))
    code, text = refused.value.recipients["someone@example.net"]
    assert code == 554 and b"Relay access denied" in text


def test_unknown_local_user_is_rejected(smtp):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.send_message(message(f"nobody-here-{uuid.uuid4().hex[:6]}@{DOMAIN}"))
    (code, _), = refused.value.recipients.values()
    assert code == 550


def test_postfix_configuration(host, node):
    assert host.check_output("postconf -h mydomain") == DOMAIN
    assert host.check_output("postconf -h myhostname") == f"{node.name}.{DOMAIN}"
    assert host.service("postfix").is_running and host.service("postfix").is_enabled
