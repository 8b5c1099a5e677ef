"""GoOrder: promotions of a store (client, wire schemas, simulator)."""

from adapters.goorder.client import fetch_goorder

__all__ = ["fetch_goorder"]
