"""Emails in the shapes real clients and servers write, built from their documented formats.

- Gmail: a text/plain + text/html alternative; the quote starts "On <date> <name> <addr> wrote:" and is `> `-quoted.
- Outlook (desktop and web): a rule line of underscores, then "From: / Sent: / To: / Subject:" above the original,
  unquoted; the HTML part leads.
- Apple Mail: "Sent from my iPhone" signature, "> On <date>, at <time>, <name> <addr> wrote:" and a quoted original.
- DSNs: RFC 3464 `multipart/report; report-type=delivery-status` with the wording of Postfix's bounce(8) and of
  Exchange Online's NDR (RESOLVER.ADR.RecipientNotFound), each returning the original (message/rfc822 or
  text/rfc822-headers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
OURS = "dispatch@paws.example"
QUOTED = "Can you cover the 9am walk at Elm Street tomorrow?"


def _base(from_addr: str, to: str, subject: str, message_id: str, in_reply_to: str | None) -> EmailMessage:
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = from_addr
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(WHEN)
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    return mail


def gmail_reply(to: str, *, text: str = "Yes, I can take it.", from_addr: str = "Dana Reyes <dana@example.com>",
                message_id: str = "<CAGm1@mail.gmail.com>", in_reply_to: str | None = None) -> bytes:
    mail = _base(from_addr, to, "Re: Message from Paws & Co. (alex)", message_id, in_reply_to)
    quote = f"On Mon, Nov 30, 2026 at 9:00 AM Paws & Co. <{OURS}> wrote:\n\n> {QUOTED}\n"
    mail.set_content(f"{text}\n\n{quote}")
    mail.add_alternative(
        f'<div dir="ltr">{text}</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Nov 30,'
        f" 2026 at 9:00 AM Paws &amp; Co. &lt;{OURS}&gt; wrote:<br></div><blockquote class=\"gmail_quote\">"
        f"{QUOTED}</blockquote></div>",
        subtype="html",
    )
    return mail.as_bytes()


def outlook_reply(to: str, *, text: str = "Sure, I will be there.", from_addr: str = "Sam Okafor <sam@example.com>",
                  message_id: str = "<DM6PR01MB1234@namprd01.prod.outlook.com>") -> bytes:
    mail = _base(from_addr, to, "RE: Message from Paws & Co. (alex)", message_id, None)
    mail["Thread-Index"] = "AQHZ1234abcd"
    quote = (
        "________________________________\n"
        f"From: Paws & Co. <{OURS}>\nSent: Monday, November 30, 2026 9:00 AM\n"
        "To: Sam Okafor <sam@example.com>\nSubject: Message from Paws & Co. (alex)\n\n"
        f"{QUOTED}\n"
    )
    mail.set_content(f"{text}\n\n{quote}")
    return mail.as_bytes()


def apple_reply(to: str, *, text: str = "On my way.", from_addr: str = "Priya Natarajan <priya@example.com>",
                message_id: str = "<5F1A2B3C-0000-4D5E@example.com>") -> bytes:
    mail = _base(from_addr, to, "Re: Message from Paws & Co. (alex)", message_id, None)
    mail["X-Mailer"] = "iPhone Mail (21A351)"
    mail.set_content(
        f"{text}\n\nSent from my iPhone\n\n> On 30 Nov 2026, at 09:00, Paws & Co. <{OURS}> wrote:\n> \n> {QUOTED}\n"
    )
    return mail.as_bytes()


HTML_ONLY = (
    "<html><head><style>p{color:red}</style></head><body><p>Running <b>10 minutes</b> late.</p><p>Dana</p>"
    f"<div>On Mon, Nov 30, 2026 at 9:00 AM Paws &amp; Co. &lt;{OURS}&gt; wrote:</div>"
    f"<blockquote type=\"cite\">{QUOTED}</blockquote></body></html>"
)


def html_only_reply(to: str, *, html: str = HTML_ONLY, from_addr: str = "dana@example.com",
                    message_id: str = "<html-1@example.com>") -> bytes:
    """A client that sends HTML alone (some webmail and mobile clients)."""
    mail = _base(from_addr, to, "Re: walk", message_id, None)
    mail.set_content(html, subtype="html")
    return mail.as_bytes()


def reply_with_attachment(to: str, *, data: bytes = b"\x89PNG\r\n\x1a\nfake", filename: str = "gate-code.png",
                          mime: str = "image/png", from_addr: str = "dana@example.com",
                          message_id: str = "<att-1@example.com>") -> bytes:
    mail = _base(from_addr, to, "Re: photo", message_id, None)
    mail.set_content("Photo of the gate attached.")
    maintype, subtype = mime.split("/")
    mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return mail.as_bytes()


def out_of_office(to: str, *, from_addr: str = "Dana Reyes <dana@example.com>", message_id: str = "<ooo-1@ex.com>",
                  in_reply_to: str | None = None) -> bytes:
    mail = _base(from_addr, to, "Automatic reply: Message from Paws & Co. (alex)", message_id, in_reply_to)
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content("I am out of the office until Monday 7 December with no access to email.")
    return mail.as_bytes()


def postfix_dsn(envelope_to: str, *, recipient: str = "nobody@example.com", original_id: str = "<x@paws.example>",
                action: str = "failed", status: str = "5.1.1",
                diagnostic: str = "smtp; 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown "
                "in local recipient table", message_id: str = "<20261130090001.ABC123@mx.paws.example>") -> bytes:
    """Postfix bounce(8): From MAILER-DAEMON, a human part, message/delivery-status, the original's headers."""
    subject = "Undelivered Mail Returned to Sender" if action == "failed" else "Delayed Mail (still being retried)"
    said = diagnostic.split("; ", 1)[-1]
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx.paws.example (Mail Delivery System)
Subject: {subject}
To: {envelope_to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="ABC123.1764493201/mx.paws.example"
Message-Id: {message_id}
Date: Mon, 30 Nov 2026 09:00:01 +0000 (UTC)

This is a MIME-encapsulated message.

--ABC123.1764493201/mx.paws.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.paws.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{recipient}>: host mx.example.com[192.0.2.1] said: {said} (in reply to RCPT TO command)

--ABC123.1764493201/mx.paws.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.paws.example
X-Postfix-Queue-ID: ABC123
X-Postfix-Sender: rfc822; reply+b1.x@paws.example
Arrival-Date: Mon, 30 Nov 2026 09:00:00 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.com
Diagnostic-Code: {diagnostic}

--ABC123.1764493201/mx.paws.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Paws & Co. <{OURS}>
To: {recipient}
Subject: Message from Paws & Co. (alex)
Message-ID: {original_id}

--ABC123.1764493201/mx.paws.example--
""".replace("\n", "\r\n").encode()


def exchange_dsn(envelope_to: str, *, recipient: str = "gone@contoso.com", original_id: str = "<x@paws.example>",
                 message_id: str = "<ndr-1@DM6PR01MB1234.namprd01.prod.outlook.com>") -> bytes:
    """Exchange Online's NDR: an explanation, message/delivery-status, and the original attached as message/rfc822."""
    return f"""From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>
To: {envelope_to}
Date: Mon, 30 Nov 2026 09:00:02 +0000
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="b1_ndr"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: {message_id}
Subject: Undeliverable: Message from Paws & Co. (alex)
Auto-Submitted: auto-replied
MIME-Version: 1.0

--b1_ndr
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to {recipient} couldn't be delivered.
{recipient.split("@")[0]} wasn't found at contoso.com.

--b1_ndr
Content-Type: message/delivery-status

Reporting-MTA: dns;DM6PR01MB1234.namprd01.prod.outlook.com
Received-From-MTA: dns;mail.paws.example
Arrival-Date: Mon, 30 Nov 2026 09:00:01 +0000

Final-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not
 found by SMTP address lookup

--b1_ndr
Content-Type: message/rfc822

From: Paws & Co. <{OURS}>
To: {recipient}
Subject: Message from Paws & Co. (alex)
Message-ID: {original_id}
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"

{QUOTED}

--b1_ndr--
""".replace("\n", "\r\n").encode()
