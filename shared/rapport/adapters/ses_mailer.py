"""SES v2 behind the ``Mailer`` port: Raw content, so every MIME header and part is kept."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from rapport.adapters.aws import client
from rapport.adapters.errors import Outcome, error_code, outcome
from rapport.errors import Undeliverable


class SesMailer:
    def __init__(self, configuration_set: str | None = None) -> None:
        self.configuration_set = configuration_set

    def send_raw(self, sender: str, recipient: str, raw: bytes) -> str:
        """The message id; ``Undeliverable`` for a refusal no retry can change (anything else,
        such as throttling or an outage, is retried by SQS and, if it lasts, dead-lettered)."""
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            return str(client("sesv2").send_email(**request)["MessageId"])
        except ClientError as error:
            if outcome(error) is Outcome.REFUSED:
                code = error_code(error)
                raise Undeliverable(code, "The email service refused the message") from error
            raise
