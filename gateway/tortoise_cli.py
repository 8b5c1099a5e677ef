"""The `tortoise` CLI's configuration (`[tool.tortoise]` in pyproject.toml).

An entry point like `gocrm`: it reads the settings when the CLI imports it, which is why it lives
here and not in `models`, whose modules import whatever the environment holds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gateway.runtime import database_config
from models.db import tortoise_config
from settings import load_settings

# The primary alone: migrations never touch a replica.
TORTOISE_ORM: dict[str, Any] = tortoise_config(
    replace(database_config(load_settings()), replica_url=None)
)
