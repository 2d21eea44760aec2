"""`openline email ...`: DKIM sending domains and SendGrid API keys, from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from openline.config import Settings

SELECTOR = "openline"


def add_parsers(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    email = sub.add_parser("email", help="email: DKIM sending domains and SendGrid API keys")
    email_sub = email.add_subparsers(dest="email_command", required=True)
    domains = email_sub.add_parser("domains", help="sending domains and their DKIM keys")
    domains_sub = domains.add_subparsers(dest="action", required=True)
    add = domains_sub.add_parser("add", help="generate a DKIM key for a domain and print the DNS records")
    common(add)
    add.add_argument("domain")
    add.add_argument("--selector", default=SELECTOR, help=f"DKIM selector (default {SELECTOR})")
    add.add_argument("--algorithm", choices=["rsa-sha256", "ed25519-sha256"], default="rsa-sha256")
    add.add_argument("--json", action="store_true", help="machine-readable output")
    listing = domains_sub.add_parser("list", help="list sending domains and their DNS records")
    common(listing)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    remove = domains_sub.add_parser("remove", help="delete a domain's DKIM key")
    common(remove)
    remove.add_argument("domain")
    keys = email_sub.add_parser("keys", help="SendGrid API keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="create an API key (printed once)")
    common(create)
    create.add_argument("--account", help="Account SID (default: the first main account)")
    create.add_argument("--name", default="Openline CLI key")
    create.add_argument("--scopes", help="comma-separated scopes (default: full access)")


def _records(settings: Settings, key: Any) -> list[dict[str, str]]:
    records = [{"name": name, "type": kind, "value": value} for name, kind, value in key.dns_records()]
    relay = settings.email.relay
    spf = f"v=spf1 a:{relay.host} ~all" if relay else "v=spf1 a mx ~all"
    records.append({"name": key.domain, "type": "TXT", "value": spf})
    return records


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from openline.app import build, prepare_schema
    from openline.services.email_dkim import DomainKeys
    from openline.storage.repositories.email import DomainRepository

    prepare_schema(settings, migrate_now=False)
    app = build(settings)
    try:
        await app.bootstrap()
        if args.email_command == "keys":
            return await _create_key(app, args)
        from openline.app import load_master_key
        from openline.core.crypto import SecretBox
        keys = DomainKeys(app.db, app.clock, DomainRepository(), SecretBox(load_master_key(settings)))
        if args.action == "add":
            try:
                key = await keys.add(args.domain, args.selector, args.algorithm)
            except ValueError as exc:
                print(f"openline: {exc}", file=sys.stderr)
                return 1
            _print(settings, [key], args.json)
        elif args.action == "list":
            _print(settings, await keys.listing(), args.json)
        elif not await keys.remove(args.domain):
            print(f"openline: no DKIM key for {args.domain}", file=sys.stderr)
            return 1
        return 0
    finally:
        await app.close()


def _print(settings: Settings, keys: list[Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps([{"domain": k.domain, "selector": k.selector, "algorithm": k.algorithm,
                           "records": _records(settings, k)} for k in keys], indent=2))
        return
    for key in keys:
        print(f"{key.domain}: DKIM selector {key.selector} ({key.algorithm}). Publish these DNS records:")
        for record in _records(settings, key):
            # A TXT character-string holds at most 255 octets (RFC 1035 §3.3): long keys are split.
            value = record["value"]
            strings = " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))
            print(f'  {record["name"]}.  IN {record["type"]}  {strings}')


async def _create_key(app: Any, args: argparse.Namespace) -> int:
    from openline.core.email import SendGridError
    from openline.services.email_keys import EmailKeys
    from openline.storage.repositories import AccountRepository
    from openline.storage.repositories.email import EmailKeyRepository

    repo = AccountRepository()
    if args.account:
        async with app.db.read() as conn:
            account = await repo.get(conn, args.account)
    else:
        account = await app.services.accounts.default_account()
    if account is None:
        print("openline: no such account", file=sys.stderr)
        return 1
    scopes = [s.strip() for s in args.scopes.split(",")] if args.scopes else None
    try:
        row, key = await EmailKeys(app.db, app.clock, EmailKeyRepository(), repo).create(account, args.name, scopes)
    except SendGridError as exc:
        print(f"openline: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps({"api_key": key, "api_key_id": row["key_id"], "account_sid": account.sid,
                      "scopes": json.loads(row["scopes"])}, indent=2))
    return 0
