"""Run configs that carry a domain's pydantic settings: the one way a config becomes those settings."""

from typing import TypeVar

import dagster as dg
from pydantic import BaseModel

Settings = TypeVar("Settings", bound=BaseModel)


def settings_of(config: dg.Config, settings_type: type[Settings]) -> Settings:
    """The ``settings_type`` a run config carries (its class inherits ``dg.Config`` and ``settings_type``), validated as
    the domain's own model: the fields, defaults and checks declared once in the domain; run-only fields dropped."""
    return settings_type.model_validate(config.model_dump(include=set(settings_type.model_fields)))
