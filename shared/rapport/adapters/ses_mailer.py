"""SES v2 behind the ``Mailer`` port: Raw content, so every MIME header and part is kept."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from rapport.adapters.aws import client
from rapport.digest.ports import Undeliverable

#: Refusals about this message that no retry can change; anything else (throttling, an outage,
#: a paused account) is retried by SQS and, if it lasts, lands in the DLQ with an alarm.
PERMANENT_REFUSALS = frozenset({"MessageRejected", "BadRequestException"})


class SesMailer:
    def __init__(self, configuration_set: str | None = None) -> None:
        self.configuration_set = configuration_set

    def send_raw(self, sender: str, recipient: str, raw: bytes) -> str:
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
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in PERMANENT_REFUSALS:
                raise Undeliverable(code) from error
            raise
