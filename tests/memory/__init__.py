"""In-memory stores for the wallet, schedule, checkout, customers and groups services
(`services.stores`): dict-backed, honouring the contracts of the SQL repositories the services
rely on, so that the services' rules are tested without a database (`tests/test_wallet_rules.py`,
`test_schedule_rules.py`, `test_checkout_rules.py`, `test_customer_rules.py`).

`Memory` holds the tables; `memory_runtime` builds a `Runtime` on it. Each store is a small
class over `Memory`, named after the SQL module it stands in for."""

from tests.memory.runtime import Recorder, memory_runtime
from tests.memory.tables import Customer, Memory

__all__ = ["Customer", "Memory", "Recorder", "memory_runtime"]
