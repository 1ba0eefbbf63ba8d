"""The classifier's output: reasons with the evidence a digest can quote."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.codes import ReasonCode

#: Confidence at or above this is promised to be right 97% of the time (docs/classification.md).
CONFIDENT = 0.8


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: ReasonCode
    source: Literal["note", "request"]
    #: The matched span of the recipient's note, or a description of the request facts used.
    text: str


class Classification(BaseModel):
    model_config = ConfigDict(frozen=True)

    primary_reason: ReasonCode | None = None
    reasons: tuple[ReasonCode, ...] = ()
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    evidence: tuple[Evidence, ...] = ()
    #: The note's language as the learned reader detects it (ISO 639-1, "hi-en" for Hinglish,
    #: "und" for one it was not trained on); None without a note.
    language: str | None = None


#: What accepted, pending and withdrawn requests carry: no reason at all.
NO_REASON = Classification()
