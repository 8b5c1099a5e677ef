"""`gocrm demo`: seed the demo location, print how to reach it and a new ADMIN key, and serve it
with both upstream simulators.

It binds its port before anything else, so a port in use fails before a key is minted (and the
running demo's key revoked). The banner names the database it seeded: the default SQLite file,
or the `DATABASE_URL` it followed. `--fresh` deletes the demo location of earlier runs first.
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit, urlunsplit

from gateway.cli_checks import check_listen, check_secret_key_setting
from gateway.cli_database import with_database
from settings import DEFAULT_DATABASE_URL, Settings


def database_banner(settings: Settings) -> str:
    """Which database the demo uses, without a password that the URL may hold."""
    if settings.database_url == DEFAULT_DATABASE_URL:
        return "gocrm.sqlite3 in this folder (the default DATABASE_URL)"
    parts = urlsplit(settings.database_url)
    if parts.password is not None:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return f"{urlunsplit(parts)}, as DATABASE_URL says"


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.app import DEMO_SIMULATORS
    from gateway.cli import _serve
    from gateway.runtime import build_runtime, close_runtime
    from services.demo import DemoLocation, seed_demo

    check_secret_key_setting(settings)
    check_listen(args.host, args.port)
    here = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    upstreams = {kind: f"http://{here}:{args.port}{path}" for kind, path in DEMO_SIMULATORS.items()}

    async def seed() -> DemoLocation:
        runtime = build_runtime(settings)
        try:
            return await seed_demo(runtime, upstreams, fresh=args.fresh)
        finally:
            await close_runtime(runtime)

    demo = with_database(settings, seed, migrate_first=True)
    url = f"http://{args.host}:{args.port}/graphql"
    print(
        "\nGoCRM demo is ready.\n"
        f"  Database: {database_banner(settings)}"
        f"{'; the earlier demo data was deleted (--fresh)' if args.fresh else ''}\n"
        f"  GraphQL (GraphiQL in a browser): {url}\n"
        f"  Back-office console: http://{args.host}:{args.port}/console/ (paste the ADMIN key)\n"
        f"  Location: {demo.location_name} ({demo.location_id})\n"
        f'  Try: {{ walletOperation(id: "{demo.bulk_operation_id}") {{ status total processed }}'
        " creditSchedules { unit amount { amount } nextRunOn customerCount } }\n"
        "  GoPOS and GoOrder simulators (configured): "
        f"{upstreams['gopos']}, {upstreams['goorder']}\n"
        "  Then: mutation { synchronize(channel: GOPOS) { syncRun { id status } } } and"
        " { customerGroups { name connections { channel status detail } } }\n"
        "  After the GoPOS sync, quote a bill for a regular's card (group discount, credits):"
        ' { checkoutQuote(input: {cardCode: "DEMO0002", lines: [{productId: "latte",'
        ' quantity: "2", unitPrice: "12.50"}]}) { subtotal { amount } discounts { id name'
        " amount { amount } } total { amount } credits { applied { amount } } messages } }\n"
        f"  ADMIN key: {demo.api_key} (the keys of earlier runs are revoked)\n"
        f"  Send it as the header  Authorization: Bearer {demo.api_key}\n",
        flush=True,
    )
    args.workers = 1
    return _serve(args, settings, factory="gateway.app:demo_app_factory")
