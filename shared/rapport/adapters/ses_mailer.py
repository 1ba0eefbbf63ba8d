"""SES v2 behind the ``Mailer`` port: Raw content, so every MIME header and part is kept."""

from __future__ import annotations

from rapport.adapters.aws import client


class SesMailer:
    def __init__(self, configuration_set: str | None = None) -> None:
        self.configuration_set = configuration_set

    def send_raw(self, sender: str, recipient: str, raw: bytes) -> str:
        request = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": raw}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        return str(client("sesv2").send_email(**request)["MessageId"])
