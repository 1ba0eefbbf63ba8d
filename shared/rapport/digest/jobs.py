"""The message that asks for one member's digest for one local week."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, ConfigDict

from rapport.contract import Identifier


class DigestJob(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    member_id: Identifier
    week_start: date
    #: The scheduler run that asked for it: the digest describes the world as of this instant.
    as_of: AwareDatetime

    def to_message(self) -> str:
        return self.model_dump_json()


def job_from_message(body: str) -> DigestJob:
    return DigestJob.model_validate_json(body)
