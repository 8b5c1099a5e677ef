"""What every resolver gets: who is calling, and this request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from strawberry.types import Info as StrawberryInfo

from domain.access import Principal
from gateway.loaders import Loaders
from services.access import PrincipalCache
from services.runtime import Runtime


@dataclass
class Context:
    principal: Principal
    # The process's runtime: the clock, the job dispatcher, the upstream clients.
    runtime: Runtime
    # This process's resolved keys, so that a revocation here takes effect at once.
    principals: PrincipalCache
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.runtime)


Info = StrawberryInfo[Context, None]
