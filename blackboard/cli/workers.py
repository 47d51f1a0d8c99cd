"""API worker processes, each listening on a socket of its own (SO_REUSEPORT).

uvicorn's `--workers` shares one listening socket between its processes, and the process
that wakes first accepts every connection waiting. Agents that connect at about the same
time therefore often all land in one process (16 connections opened at once: 16/0 in two
tries of three here), which then serves them all on one core while the other idles.
With SO_REUSEPORT every worker has its own socket on the same port and the kernel spreads
new connections over them by a hash of their addresses, as nginx's `reuseport` does.

The supervisor restarts a worker that dies (not one that failed to start: that would fail
again) and stops them all on SIGINT or SIGTERM.
"""

import multiprocessing
import signal
import socket
import threading
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn
from uvicorn.config import STARTUP_FAILURE

STOP_TIMEOUT_S = 30.0
"""How long a worker may take to finish its requests and shut down before it is killed."""


def reuse_port_supported() -> bool:
    """Return whether this platform can give each worker its own socket on one port."""
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """Return a socket bound to (host, port) that other workers' sockets may share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _work(config: uvicorn.Config) -> None:
    """A worker process: bind its own socket and serve until told to stop."""
    config.configure_logging()  # a spawned process starts with logging unconfigured
    try:
        sock = listening_socket(config.host, config.port)
    except OSError as exc:
        uvicorn.config.logger.error("cannot bind %s:%d: %s", config.host, config.port, exc)
        raise SystemExit(STARTUP_FAILURE) from exc
    uvicorn.Server(config).run(sockets=[sock])


class Workers:
    """`count` worker processes serving `config`, kept alive until `run()` is told to stop."""

    def __init__(self, config: uvicorn.Config, count: int) -> None:
        self.config = config
        self.count = count
        self._stop = threading.Event()
        self._context = multiprocessing.get_context("spawn")

    def _start(self) -> BaseProcess:
        process = self._context.Process(target=_work, args=(self.config,), name="blackboard-api")
        process.start()
        return process

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM; return 0, or STARTUP_FAILURE if a worker could
        not start (a port in use, an app that fails on start-up)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        # Bound before the first worker starts, and kept (never listening, so never given
        # a connection) until the last one stops: a port in use fails here at once, not
        # as one worker up and one refused; and a port chosen by the system (0) is the one
        # every worker, restarted ones too, binds.
        reserved = listening_socket(self.config.host, self.config.port)
        self.config.port = reserved.getsockname()[1]
        processes = [self._start() for _ in range(self.count)]
        status = 0
        try:
            while not self._stop.wait(0.5):
                for i, process in enumerate(processes):
                    if process.is_alive():
                        continue
                    if process.exitcode == STARTUP_FAILURE:
                        status = STARTUP_FAILURE
                        self._stop.set()
                        break
                    uvicorn.config.logger.warning(
                        "worker %s exited with %s; starting another", process.pid, process.exitcode
                    )
                    processes[i] = self._start()
        finally:
            self._stop_all(processes)
            reserved.close()
        return status

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    @staticmethod
    def _stop_all(processes: list[BaseProcess]) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes open requests, then exits
        for process in processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
