"""The `tortoise` CLI's configuration (`[tool.tortoise]` in pyproject.toml).

An entry point like `gocrm`: it reads the settings when the CLI imports it, which is why it lives
here and not in `models`, whose modules import whatever the environment holds.
"""

from __future__ import annotations

from typing import Any

from gateway.runtime import database_config
from models.db import tortoise_config
from settings import load_settings

TORTOISE_ORM: dict[str, Any] = tortoise_config(database_config(load_settings()))
