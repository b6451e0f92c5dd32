"""The outbound adapters of the subscribers: mail over SMTP (aiosmtplib; STARTTLS when the
relay offers it, or TLS from the start with `smtps://`) and webhook POSTs (httpx). Both
raise DeliveryFailed, saying whether a later try can help."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from bot.statuspage.subscribers import DeliveryFailed

HOOK_TIMEOUT = 10.0
# long header lines (List-Unsubscribe's URL) stay plain: folding would encode them
MAIL_POLICY = SMTP.clone(max_line_length=998)


class SmtpMailer:
    def __init__(self, url: str, sender: str, *, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    async def send(self, to: str, subject: str, text: str, headers: dict[str, str]) -> None:
        message = EmailMessage(policy=MAIL_POLICY)
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2].strip(">"))
        for name, value in headers.items():
            message[name] = value
        message.set_content(text)
        raw = message.as_bytes(policy=MAIL_POLICY)  # aiosmtplib would fold with 78 columns
        import aiosmtplib  # loaded by the first mail, not at start

        try:
            await aiosmtplib.send(
                raw, sender=parseaddr(self.sender)[1], recipients=[to], hostname=self.host,
                port=self.port, username=self.username, password=self.password,
                use_tls=self.tls, start_tls=None if not self.tls else False,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"the relay refused the address ({exc})", retryable=False) \
                from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"the relay answered {exc.code}",
                                 retryable=exc.code >= 400 and exc.code < 500) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"the relay is not reachable ({type(exc).__name__})",
                                 retryable=True) from None


class HttpHooks:
    def __init__(self, *, timeout: float = HOOK_TIMEOUT) -> None:
        self.timeout = timeout

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        import httpx  # loaded by the first webhook, not at start

        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"not reachable ({type(exc).__name__})", retryable=True) \
                from None
        if response.status_code >= 300:
            retry = response.status_code in (408, 425, 429) or response.status_code >= 500
            raise DeliveryFailed(f"answered HTTP {response.status_code}", retryable=retry)
