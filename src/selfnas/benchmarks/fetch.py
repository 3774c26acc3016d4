"""Download a catalogue file from its official address, failing fast without a network.

Before any download, one connection to the host is tried in a worker thread with a short
deadline (name lookup included, which has no timeout of its own), so a machine without a
network gets a plain "no network" error in seconds instead of a hang. Downloads go to a
temporary file beside the target and are moved into place only after the documented size
and checksum (where known) match.
"""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from selfnas.atomic import atomic_path
from selfnas.datadir import DataFile, data_dir
from selfnas.errors import DataNotFound, SelfnasError

PROBE_SECONDS = 5.0


class NoNetwork(SelfnasError):
    """The official host cannot be reached from this machine."""


def reachable(host: str, port: int = 443, timeout: float = PROBE_SECONDS) -> str | None:
    """None if a TCP connection to host:port opens within `timeout`, else the reason."""
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(None)
        except OSError as exc:
            outcome.append(f"{type(exc).__name__}: {exc}")

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if not outcome:
        return f"no answer within {timeout:.0f} s"
    return outcome[0]


def fetch(entry: DataFile, root: Path | None = None, timeout: float = PROBE_SECONDS) -> Path:
    """Download `entry` into the data directory; returns its path."""
    target = entry.path(root)
    if entry.url is None:
        raise DataNotFound(f"{entry.name} cannot be downloaded automatically. {entry.how_to_get}")
    host = urlparse(entry.url).hostname or ""
    problem = reachable(host, timeout=timeout)
    if problem is not None:
        raise NoNetwork(
            f"no network: cannot reach {host} ({problem}). Download {entry.url} on a "
            f"machine with internet access and copy it to {target} (data directory "
            f"{root or data_dir()})."
        )
    try:
        with atomic_path(target) as tmp:
            with urllib.request.urlopen(entry.url, timeout=60) as response, open(tmp, "wb") as out:
                while block := response.read(1 << 20):
                    out.write(block)
            entry.verify(tmp)
    except (urllib.error.URLError, OSError) as exc:
        raise NoNetwork(f"download of {entry.url} failed: {exc}") from None
    return target
