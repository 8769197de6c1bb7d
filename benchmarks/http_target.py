"""A plain local HTTP server for the checker benchmarks: every GET answers 200 with a short body.

Runs in its own process (`python -m benchmarks.http_target --port N`) so the server does not share the
measuring process's interpreter; prints its port on the first line.
"""

from __future__ import annotations

import argparse
import asyncio
import socket

from aiohttp import web


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def _serve(port: int) -> None:
    app = web.Application()
    app.router.add_get("/{tail:.*}", _ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", port), backlog=1024)
    await web.SockSite(runner, sock).start()
    print(sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(_serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
