"""What every resolver gets: who is calling, and this request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry.types import Info as StrawberryInfo

from domain.access import Principal
from domain.errors import ErrorCode, fail
from gateway.loaders import Loaders
from services.access import PrincipalCache
from services.jobs import Dispatcher


@dataclass
class Context:
    principal: Principal
    dispatcher: Dispatcher
    # This process's resolved keys, so that a revocation here takes effect at once.
    principals: PrincipalCache
    loaders: Loaders = field(default_factory=Loaders)


Info = StrawberryInfo[Context, None]


def admin(info: Info) -> Principal:
    """The caller, who must hold an ADMIN key; otherwise a FORBIDDEN user error."""
    principal = info.context.principal
    if not principal.is_admin:
        raise fail(ErrorCode.FORBIDDEN, None, "This API key's role may not do this.")
    return principal
