"""A free local port for a bot's LISTEN (the tests, the benchmarks)."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_port() -> int:
    """A port nothing listens on now, below the kernel's ephemeral range: a port the kernel handed
    out for `bind(0)` is one it also hands to outgoing connections (the suite makes thousands), and
    one of those took a bot's port before it bound it ("address already in use")."""
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ranges.read_text().split()[0]) if ranges.exists() else 32768
    top = low if low > 21000 else 32768
    while True:
        port = random.randrange(20000, top)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken: another worker's server
            return port
