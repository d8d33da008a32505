"""The one place notifications leave Berth: an HTTP POST to a webhook, or an email through Django's mail.

Every failure becomes TransportError(message, permanent): a permanent one (the receiver says the
hook does not exist) is not retried; anything else is, with backoff (services/notifications.py).
"""

from __future__ import annotations

import smtplib
from typing import Any

import requests
from django.conf import settings
from django.core.mail import send_mail


class TransportError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


# A receiver answering these will answer them again: retrying only delays the "failing" state.
_PERMANENT_STATUSES = {400, 401, 403, 404, 405, 410, 413, 422}


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    """POST the JSON payload; TransportError unless the receiver answers 2xx within the timeout."""
    timeout = settings.BERTH_NOTIFY_TIMEOUT
    try:
        # No redirects: a webhook that moved must be re-entered by an admin, not followed blindly.
        response = requests.post(
            url,
            json=payload,
            timeout=(min(5, timeout), timeout),
            allow_redirects=False,
            headers={"User-Agent": "Berth"},
        )
    except requests.exceptions.Timeout:
        raise TransportError(f"The receiver did not answer within {timeout} s") from None
    except requests.exceptions.RequestException as exc:
        # The exception's text can contain the URL (and its token): name only its kind.
        raise TransportError(f"Could not reach the receiver: {type(exc).__name__}") from None
    if 200 <= response.status_code < 300:
        return
    raise TransportError(
        f"The receiver answered HTTP {response.status_code}", permanent=response.status_code in _PERMANENT_STATUSES
    )


def send_email(recipients: list[str], subject: str, body: str) -> None:
    """Send through Django's mail settings (EMAIL_HOST...); TransportError on any SMTP or network failure."""
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise TransportError(f"The mail server refused the recipients: {exc}", permanent=True) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransportError(f"The mail server did not take the message: {exc}") from None
