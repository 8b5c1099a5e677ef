"""Field permissions: which queries a POS key may run."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from gateway.context import Info


class AdminOnly(BasePermission):
    message = "This API key's role may not run this query."
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 - declared by BasePermission

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return info.context.principal.is_admin
