"""Webhooks: endpoints a location's administrator manages (`endpoints`), and the deliveries the
background job builds from the outbox and sends (`delivery`), and the
daily `credits.expiring` notices (`expiring`)."""

from services.webhooks.delivery import deliver, has_work, pump, send_due
from services.webhooks.endpoints import (
    create_endpoint,
    delete_endpoint,
    deliveries_page,
    list_endpoints,
    replay_delivery,
    update_endpoint,
)
from services.webhooks.expiring import emit_expiring

__all__ = [
    "create_endpoint",
    "delete_endpoint",
    "deliver",
    "deliveries_page",
    "emit_expiring",
    "has_work",
    "list_endpoints",
    "pump",
    "replay_delivery",
    "send_due",
    "update_endpoint",
]
