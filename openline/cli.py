"""The `openline` command: serve | migrate | accounts | carriers | ca | env."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openline import __version__, cli_email
from openline.config import ConfigError, Settings, load_settings
from openline.core.intercept import SHELLS, ClientEnvironment


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file")
    parser.add_argument("--data-dir", type=Path, help="where the embedded database and files live "
                                                       "(default ./openline-data)")
    parser.add_argument("--database-url", help="sqlite:///path or postgresql://user@host/db "
                                               "(default: SQLite in the data dir)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openline", description="Self-hosted communications platform "
                                     "that speaks Twilio's API.")
    parser.add_argument("--version", action="version", version=f"openline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API and/or the background workers (--role)")
    _common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080; 0 picks a free one)")
    serve.add_argument("--sandbox-clock", action="store_true", default=None,
                       help="let POST /sandbox/v1/Clock move Openline's clock forward (tests, demos)")
    serve.add_argument("--intercept", action="store_true", default=None,
                       help="also run the HTTP proxy that lets unchanged Twilio/SendGrid apps reach Openline "
                            "(see `openline env`)")
    _intercept_port(serve)
    serve.add_argument("--intercept-passthrough", action="store_true", default=None,
                       help="tunnel other hosts through the proxy unchanged instead of refusing them")
    serve.add_argument("--role", choices=["api", "worker", "all"],
                       help="api: HTTP only; worker: job pools and carrier binds (plus /health and /metrics); "
                            "all: both (default)")

    migrate_cmd = sub.add_parser("migrate", help="bring the database schema up to date")
    _common(migrate_cmd)

    carriers = sub.add_parser("carriers", help="list the configured carriers and routes")
    _common(carriers)
    carriers.add_argument("--json", action="store_true", help="machine-readable output")

    ca = sub.add_parser("ca", help="print the local CA's certificate path and SHA-256 fingerprint "
                                   "(created on first use)")
    _common(ca)

    env = sub.add_parser("env", help="print the environment that sends an unchanged app to `serve --intercept`")
    _common(env)
    _intercept_port(env)
    env.add_argument("--shell", choices=SHELLS, default="powershell" if os.name == "nt" else "bash",
                     help="syntax of the output (default: bash, powershell on Windows)")

    accounts = sub.add_parser("accounts", help="list or create accounts")
    accounts_sub = accounts.add_subparsers(dest="action", required=True)
    listing = accounts_sub.add_parser("list", help="list every account")
    _common(listing)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    create = accounts_sub.add_parser("create", help="create an account (a subaccount with --parent)")
    _common(create)
    create.add_argument("--friendly-name", default="Openline account")
    create.add_argument("--parent", help="Account SID of the parent, to create a subaccount")
    create.add_argument("--json", action="store_true", help="machine-readable output")
    cli_email.add_parsers(sub, _common)
    return parser


def _intercept_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--intercept-port", type=int, help="port of the intercept proxy (default 8081)")


def _settings(args: argparse.Namespace) -> Settings:
    intercept = {key: value for key, value in (
        ("enabled", getattr(args, "intercept", None)),
        ("port", getattr(args, "intercept_port", None)),
        ("passthrough", getattr(args, "intercept_passthrough", None))) if value is not None}
    return load_settings(
        args.config,
        data_dir=args.data_dir,
        database_url=args.database_url,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        sandbox={"clock": True} if getattr(args, "sandbox_clock", None) else None,
        intercept=intercept or None,
        role=getattr(args, "role", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        print(f"openline: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from openline.app import StartupError  # deferred: keeps `openline --help` fast

    try:
        if args.command == "serve":
            from openline.server import serve

            return serve(settings)
        if args.command == "migrate":
            return _migrate(settings)
        if args.command == "carriers":
            return _carriers(settings, args.json)
        if args.command == "email":
            return asyncio.run(cli_email.run(settings, args))
        if args.command in ("ca", "env"):
            return _intercept_info(settings, args)
        return asyncio.run(_accounts(settings, args))
    except StartupError as exc:
        print(f"openline: {exc}", file=sys.stderr)
        return 1


def _migrate(settings: Settings) -> int:
    from openline.app import prepare_schema

    state = prepare_schema(settings, migrate_now=True)
    print(f"openline: {state.describe()}")
    return 0


def _carriers(settings: Settings, as_json: bool) -> int:
    """What is configured (live bind state is in GET /health of a running server)."""
    carriers: list[dict[str, Any]] = [{
        "name": c.name, "type": c.type, "host": c.host, "port": c.port, "system_id": c.system_id,
        "bind_mode": c.bind_mode, "window": c.window, "throughput": c.throughput, "tls": c.tls,
        "long_message_mode": c.long_message_mode, "data_coding": c.data_coding, "request_dlr": c.request_dlr,
        "numbers": c.numbers,
    } for c in settings.carriers]
    if settings.sandbox.enabled:
        carriers.append({"name": "sandbox", "type": "sandbox", "numbers": []})
    routes = [r.model_dump() for r in settings.routes]
    if as_json:
        print(json.dumps({"carriers": carriers, "routes": routes}, indent=2))
        return 0
    for c in carriers:
        where = f"{c['host']}:{c['port']} as {c['system_id']} ({c['bind_mode']}, window {c['window']})" \
            if c["type"] == "smpp" else "simulated network"
        print(f"{c['name']:<20} {c['type']:<8} {where}  numbers: {len(c['numbers'])}")
    for r in routes:
        sender = f" from {r['sender']}" if r["sender"] else ""
        print(f"route {r['match']}{sender} -> {', '.join(r['carriers'])} (priority {r['priority']})")
    if not settings.sandbox.enabled and not routes:
        print("no routes: messages have nowhere to go")
    return 0


def _intercept_info(settings: Settings, args: argparse.Namespace) -> int:
    from openline.transports.intercept_ca import CertificateAuthorityError, LocalCA

    try:
        ca = LocalCA.open(settings.data_dir)
    except (OSError, CertificateAuthorityError) as exc:
        print(f"openline: the Openline CA in {settings.data_dir}: {exc}", file=sys.stderr)
        return 1
    if args.command == "ca":
        print(f"certificate: {ca.cert_path.resolve()}")
        print(f"SHA-256:     {ca.fingerprint}")
        return 0
    if settings.intercept.port == 0:
        print("openline: intercept.port is 0 (serve picks a free port and prints it): "
              "pass that port with --intercept-port", file=sys.stderr)
        return 2
    ca.write_bundle()  # the system's roots may have changed since it was written
    environment = ClientEnvironment(settings.intercept_client_host, settings.intercept.port,
                                    str(ca.cert_path.resolve()), str(ca.bundle_path.resolve()))
    print(environment.render(args.shell), end="")
    return 0


def _account_dict(account: Any) -> dict[str, Any]:
    return {"sid": account.sid, "friendly_name": account.friendly_name, "status": account.status.value,
            "auth_token": account.auth_token,
            "owner_account_sid": account.owner_account_sid}


async def _accounts(settings: Settings, args: argparse.Namespace) -> int:
    from openline.app import build, prepare_schema
    from openline.services.auth import Principal

    prepare_schema(settings, migrate_now=False)
    app = build(settings)
    try:
        await app.bootstrap()
        service = app.services.accounts
        if args.action == "list":
            rows = [_account_dict(a) for a in await service.all_accounts()]
        else:
            if args.parent:
                async with app.db.read() as conn:
                    parent = await app.services.account_repository.get(conn, args.parent)
                if parent is None:
                    print(f"openline: no account {args.parent}", file=sys.stderr)
                    return 1
                account = await service.create_subaccount(Principal(parent), args.friendly_name)
            else:
                account = await service.create_main_account(args.friendly_name)
            rows = [_account_dict(account)]
    finally:
        await app.close()
    if args.json:
        print(json.dumps(rows if args.action == "list" else rows[0], indent=2))
    else:
        for row in rows:
            print(f"{row['sid']}  {row['auth_token']}  {row['status']:<9}  {row['friendly_name']}"
                  + ("" if row["owner_account_sid"] == row["sid"] else f"  (subaccount of {row['owner_account_sid']})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
