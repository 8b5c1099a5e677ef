"""GoPOS: customer groups and discounts of an organisation (client, wire schemas, simulator)."""

from adapters.gopos.client import fetch_gopos

__all__ = ["fetch_gopos"]
