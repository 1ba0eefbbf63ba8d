"""Configuration from environment variables, parsed once into pydantic models with clear errors."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rapport.codes import (
    DEFAULT_RESPONSE_WINDOW_DAYS,
    DEFAULT_RETENTION_DAYS,
    MAX_INGEST_WORKERS,
    SDK_READ_TIMEOUT_VARIABLE,
)

_Settings = TypeVar("_Settings", bound=BaseModel)


class ConfigurationError(RuntimeError):
    """The function is deployed with missing or invalid environment variables."""


class TableSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    retention_days: int = Field(
        default=DEFAULT_RETENTION_DAYS, alias="RETENTION_DAYS", ge=1, le=3650
    )

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)


class ReadSettings(TableSettings):
    response_window_days: int = Field(
        default=DEFAULT_RESPONSE_WINDOW_DAYS, alias="RESPONSE_WINDOW_DAYS", ge=1, le=365
    )

    @property
    def response_window(self) -> timedelta:
        return timedelta(days=self.response_window_days)


#: How far after the queue received it an event's ``time`` may lie (DESIGN §2): enough for any
#: clock skew, far too little for a wrong year to outrank real updates.
DEFAULT_FUTURE_TOLERANCE_HOURS = 24


#: How many of a batch's items process_events writes at once (``rapport.ingest.batch``): at
#: 5 ms per DynamoDB call a batch of 100 takes ~556 ms one at a time, ~80 ms with 8 to 16, where
#: botocore's CPU under the GIL becomes the bound (docs/performance.md).
DEFAULT_INGEST_WORKERS = 16


class IngestSettings(TableSettings):
    future_tolerance_hours: int = Field(
        default=DEFAULT_FUTURE_TOLERANCE_HOURS, alias="FUTURE_TOLERANCE_HOURS", ge=1, le=720
    )
    workers: int = Field(
        default=DEFAULT_INGEST_WORKERS, alias="INGEST_WORKERS", ge=1, le=MAX_INGEST_WORKERS
    )

    @property
    def future_tolerance(self) -> timedelta:
        return timedelta(hours=self.future_tolerance_hours)


def load(model: type[_Settings]) -> _Settings:
    try:
        return model.model_validate(dict(os.environ))
    except ValidationError as exc:
        problems = "; ".join(
            f"{error['loc'][0]}: {error['msg']}" for error in exc.errors(include_input=False)
        )
        raise ConfigurationError(f"invalid environment for {model.__name__}: {problems}") from None


class SdkSettings(BaseModel):
    """How long an SDK call waits for an answer before retrying; unset in a deployment.

    The local runtime sets it: its moto server answers on the caller's own CPU, where one answer
    can take seconds under load, and DynamoDB's 1 s read timeout would make a local run retry
    (and after four attempts fail) writes that no deployment would see fail.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    read_timeout_seconds: float | None = Field(
        default=None, alias=SDK_READ_TIMEOUT_VARIABLE, gt=0, le=900
    )


class SchedulerSettings(TableSettings):
    digest_queue_url: str = Field(alias="DIGEST_QUEUE_URL", min_length=1)


class SigningSettings(TableSettings):
    unsubscribe_secret_id: str = Field(alias="UNSUBSCRIBE_SECRET_ID", min_length=1)


class DigestSettings(ReadSettings, SigningSettings):
    sender_address: str = Field(alias="SENDER_ADDRESS", min_length=3)
    unsubscribe_url: str = Field(alias="UNSUBSCRIBE_URL", pattern=r"^https?://")
    ses_configuration_set: str | None = Field(default=None, alias="SES_CONFIGURATION_SET")
