"""`openline serve`: one process running the API, the workers, or both (``--role``)."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import sys

import uvicorn

from openline.app import Openline, StartupError, build, prepare_schema
from openline.config import Settings
from openline.transports.intercept_ca import CertificateAuthorityError, LocalCA
from openline.transports.intercept_proxy import InterceptProxy

log = logging.getLogger("openline")

WS_MAX_FRAME_BYTES = 1024 * 1024


async def _run(settings: Settings) -> int:
    prepare_schema(settings, migrate_now=False)
    app = build(settings)
    proxy: InterceptProxy | None = None
    try:
        result = await app.bootstrap()
        default = result.account if result else await app.services.accounts.default_account()
        config = uvicorn.Config(app.timed or app.asgi, host=settings.host, port=settings.port,
                                log_level=settings.log_level,
                                access_log=settings.log_level == "debug", lifespan="off", server_header=False,
                                # Live console streams must not hold up a shutdown.
                                timeout_graceful_shutdown=5,
                                # Web chat frames are at most 64 KiB (answered with an error frame up
                                # to this); beyond it the socket is closed (1009) before it is buffered.
                                ws_max_size=WS_MAX_FRAME_BYTES)
        server = uvicorn.Server(config)
        # Bind first, so that the banner names the real port (also with --port 0).
        listener = _listen(settings.host, settings.port)
        port = listener.getsockname()[1]
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        base = settings.public_url or f"http://{host}:{port}"
        app.bound_to(base)
        lines = [f"Openline is running at {base}",
                 f"  database: {app.db.dialect.name}",
                 f"  role:     {settings.role}"]
        if app.runs_api:
            lines.append(f"  Console:     {base}/console")
        if settings.intercept.enabled and app.runs_api:
            proxy, proxy_lines = await _start_intercept(settings, app, server)
            lines += proxy_lines
        if default is not None:
            lines += [f"  Account SID: {default.sid}", f"  Auth Token:  {default.auth_token}"]
        # What start-up built (modules, tables, routes, compiled statements) lives as long as the
        # process: frozen, it is no longer walked by every full collection, which otherwise
        # stalls the event loop for tens of milliseconds at a time under load.
        gc.collect()
        gc.freeze()
        await app.start_workers()
        print("\n".join(lines), flush=True)
        await server.serve(sockets=[listener])
        return 0
    finally:
        if proxy is not None:
            await proxy.close()
        await app.close()


async def _start_intercept(settings: Settings, app: Openline, server: uvicorn.Server) -> tuple[InterceptProxy,
                                                                                             list[str]]:
    """The intercept proxy: intercepted connections are served by uvicorn's own HTTP protocol,
    in this process, and shut down with the server's other connections."""
    try:
        ca = LocalCA.open(settings.data_dir)
    except (OSError, CertificateAuthorityError) as exc:
        raise StartupError(f"the Openline CA in {settings.data_dir}: {exc}") from None
    config = uvicorn.Config(app.asgi, log_level=settings.log_level, access_log=settings.log_level == "debug",
                            lifespan="off", server_header=False)
    config.load()

    def http_protocol() -> asyncio.Protocol:
        return config.http_protocol_class(config=config, server_state=server.server_state,  # type: ignore[call-arg]
                                          app_state={})

    sock = _listen(settings.intercept.host, settings.intercept.port)
    proxy = InterceptProxy(ca, http_protocol, settings.intercept.passthrough)
    await proxy.start(sock)
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    mode = "other hosts tunnelled" if settings.intercept.passthrough else "other hosts refused"
    return proxy, [f"  Intercept proxy: http://{host}:{port} (Twilio and SendGrid hosts; {mode})",
                   f"  Openline CA: {ca.cert_path.resolve()} (SHA-256 {ca.fingerprint})"]


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings) -> int:
    try:
        import uvloop

        return uvloop.run(_run(settings))
    except ImportError:  # uvloop is optional (not on every platform)
        return asyncio.run(_run(settings))
    except KeyboardInterrupt:
        return 0
    finally:
        sys.stdout.flush()
