"""An ASGI app served by uvicorn on a loopback port, in a background thread of this process.

``running_server(app)`` is what tests and ``bench/serve_load.py`` use to talk to a real server
over real sockets (HTTP parsing, streaming, disconnects) without a subprocess: the socket is
bound before uvicorn starts (port 0: the OS picks a free port, so parallel runs never race for
one), the block is entered once uvicorn reports it has started (lifespan startup included), and
leaving the block shuts the server down gracefully and waits for its thread. Uvicorn installs
no signal handlers outside the main thread, so Ctrl-C still reaches the caller.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any, Iterator

from brewslm.errors import BrewError

STARTUP_TIMEOUT_S = 60.0


@contextlib.contextmanager
def running_server(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    startup_timeout_s: float = STARTUP_TIMEOUT_S,
) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` (0 = a free port) for the duration of the block; yields the
    base URL (``http://127.0.0.1:PORT``)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on", timeout_graceful_shutdown=5))
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the caller below, not lost in the thread
            failure.append(exc)

    thread = threading.Thread(target=serve, name=f"uvicorn-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if failure or not thread.is_alive():
            sock.close()
            raise BrewError(
                f"the server on {host}:{bound_port} did not start: "
                f"{failure[0] if failure else 'its thread ended (see the log above)'}"
            )
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(10)
            sock.close()
            raise BrewError(f"the server on {host}:{bound_port} did not start within {startup_timeout_s:.0f} s")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


__all__ = ["running_server"]
