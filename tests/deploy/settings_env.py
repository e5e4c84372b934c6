"""The environment variables each nazorg process understands, from its settings class."""

from __future__ import annotations

from pydantic_settings import BaseSettings

from services.common.settings import (
    CommonSettings,
    DetectorSettings,
    IngestSettings,
    InterventionSettings,
)
from services.sofie_dev.cli import sofie_dev

SETTINGS: dict[str, type[CommonSettings]] = {
    "ingest": IngestSettings,
    "detector": DetectorSettings,
    "intervention": InterventionSettings,
}
"""``nazorg <command>`` -> the settings class the command reads."""


def env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in settings.model_fields}


def known_env(command: str) -> set[str]:
    """The variables ``nazorg <command>`` reads (``sofie-dev``: its options' variables)."""
    if command == "sofie-dev":
        return {str(p.envvar) for p in sofie_dev.params if isinstance(p.envvar, str)}
    return env_names(SETTINGS[command])


ANY_SERVICE = set().union(*(env_names(cls) for cls in SETTINGS.values())) | env_names(
    CommonSettings
)
