"""Can the Hugging Face Hub be reached? Answered within a few seconds, before anything waits on it.

huggingface_hub retries a hub it cannot reach with growing pauses, file after file: a model
name that is neither a folder nor cached took about 80 s to fail on a machine without a
network. A look-up of the hub's host and a TCP connect, each with a short timeout, tell the
same in at most :data:`CHECK_SECONDS`. No HTTP request is made; the endpoint and any proxy
come from the environment variables huggingface_hub and httpx read (``HF_ENDPOINT``,
``HTTPS_PROXY``, ``NO_PROXY``...).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.request
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "https://huggingface.co"
CHECK_SECONDS = 3.0
_REMEMBER_SECONDS = 5.0  # serves the two checks of one start (training, then its model load); a retry asks again
_TRUE = {"1", "on", "yes", "true"}
_answers: dict[tuple[str, int], tuple[float, str | None]] = {}
_lock = threading.Lock()


def offline_mode() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set: nothing may be downloaded."""
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_unreachable_reason(timeout: float = CHECK_SECONDS) -> str | None:
    """None when the hub (or the proxy in front of it) accepts a connection within ``timeout``
    seconds; otherwise why not, in words for the user."""
    if offline_mode():
        return "HF_HUB_OFFLINE is set"
    host, port, through = _address(hub_endpoint())
    now = time.monotonic()
    with _lock:
        seen = _answers.get((host, port))
        if seen is not None and now - seen[0] < _REMEMBER_SECONDS:
            return seen[1]
    reason = _connect_problem(host, port, timeout)
    if reason is not None and through:
        reason += f" (the proxy for {through})"
    with _lock:
        _answers[(host, port)] = (time.monotonic(), reason)
    return reason


def forget_answers() -> None:
    with _lock:
        _answers.clear()


def _address(url: str) -> tuple[str, int, str]:
    """Host and port to connect to for ``url``: its own, or its proxy's (and then the url's host)."""
    parts = urlsplit(url)
    host = parts.hostname or "huggingface.co"
    port = parts.port or (80 if parts.scheme == "http" else 443)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme or "https") or proxies.get("all")
    if proxy and not urllib.request.proxy_bypass_environment(host, proxies):
        proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if proxy_parts.hostname:
            return proxy_parts.hostname, proxy_parts.port or 8080, host
    return host, port, ""


def _connect_problem(host: str, port: int, timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    try:
        addresses = _resolve(host, port, timeout)
    except TimeoutError:
        return f"looking up {host} took more than {timeout:g} s"
    except OSError:
        return f"{host} could not be looked up: no network, or no name server"
    why = f"no answer within {timeout:g} s"
    for family, kind, proto, _, address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(left)
                sock.connect(address)
            return None
        except TimeoutError:
            why = f"no answer within {timeout:g} s"
        except OSError as err:
            why = (err.strerror or str(err)).lower()
    return f"no connection to {host}:{port}: {why}"


def _resolve(host: str, port: int, timeout: float) -> list:
    """getaddrinfo with a timeout: it has none of its own, and a broken name server can hang it."""
    found: dict[str, object] = {}

    def look_up() -> None:
        try:
            found["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as err:
            found["error"] = err

    thread = threading.Thread(target=look_up, name="quoradup-hub-lookup", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(host)
    if "error" in found:
        raise found["error"]  # type: ignore[misc]
    return found["addresses"]  # type: ignore[return-value]
