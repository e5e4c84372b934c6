"""What the dev Sofie server can be told, and the state one app instance keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from services.sofie_dev import DEFAULT_ENGAGEMENT_RATE
from services.sofie_dev.callbacks import CallbackSender, CallbackTarget
from services.sofie_dev.faults import DEFAULT_HOLD_S, NO_FAULT, FaultController
from services.sofie_dev.store import ActionStore, Counters

MIN_TOKEN_LENGTH: Final = 16


class SofieDevConfig(BaseModel):
    """Everything the dev server can be told (the CLI options map onto it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr
    """Bearer token Sofie expects on ``POST /v1/actions``."""
    callback_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Where engagement callbacks go; none are sent without it."""
    callback_token: SecretStr | None = None
    """Bearer token on every callback; required with ``callback_url``."""
    engagement_rate: float = Field(default=DEFAULT_ENGAGEMENT_RATE, ge=0, le=1)
    seed: int = Field(default=0, ge=0)
    timeout_hold_s: float = Field(default=DEFAULT_HOLD_S, gt=0)
    """How long the ``timeout`` fault holds a request unless the fault is changed earlier."""
    callback_attempts: int = Field(default=3, ge=1, le=10)
    callback_timeout_s: float = Field(default=5.0, gt=0)
    callback_backoff_s: float = Field(default=0.2, ge=0)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    @model_validator(mode="after")
    def _secrets(self) -> Self:
        for name in ("token", "callback_token"):
            secret: SecretStr | None = getattr(self, name)
            if secret is not None and len(secret.get_secret_value()) < MIN_TOKEN_LENGTH:
                raise ValueError(f"{name} needs at least {MIN_TOKEN_LENGTH} characters")
        if self.callback_url is not None and self.callback_token is None:
            raise ValueError("callback_url needs callback_token")
        return self


@dataclass(frozen=True)
class SofieDevState:
    """The parts of one dev server, reachable from tests as ``app.state.sofie``."""

    config: SofieDevConfig
    store: ActionStore
    counters: Counters
    faults: FaultController
    callbacks: CallbackSender

    @classmethod
    def build(cls, config: SofieDevConfig) -> SofieDevState:
        counters = Counters()
        target = (
            CallbackTarget(config.callback_url, config.callback_token)
            if config.callback_url is not None and config.callback_token is not None
            else None
        )
        sender = CallbackSender(
            target,
            counters,
            attempts=config.callback_attempts,
            timeout_s=config.callback_timeout_s,
            backoff_s=config.callback_backoff_s,
        )
        return cls(config, ActionStore(), counters, FaultController(config.timeout_hold_s), sender)

    def reset(self) -> None:
        """Forget actions and counters, clear the fault, drop queued callbacks."""
        self.callbacks.discard_queued()
        self.store.reset()
        self.counters.reset()
        self.faults.set(NO_FAULT)
