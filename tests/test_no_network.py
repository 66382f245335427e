"""No network: a full augmentation under a socket guard attempts no connection except loopback.

The guard is a `sys.addaudithook` on `socket.connect`, `socket.getaddrinfo`, `socket.sendto` and
`socket.sendmsg`. Audit hooks cannot be removed, so the in-process one is gated by a module-level
flag and is inert outside the guarded block. It records every attempt and refuses (raises) the
non-loopback ones, so an attempt is seen even if some library swallows the error. The subprocess
variant installs the same hook from a `sitecustomize.py` on PYTHONPATH before anything else runs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.sendmsg")

_GUARD_ON = False  # the hook below does nothing unless this is True
_ATTEMPTS: list[tuple[str, object, bool]] = []  # (event, address, allowed)


def is_loopback(host: object) -> bool:
    """127.0.0.0/8, ::1, localhost, AF_UNIX paths (str/bytes), or no host (a local default)."""
    if host is None or isinstance(host, (bytes, bytearray)):
        return True
    if not isinstance(host, str):
        return False
    if host.startswith("/") or host == "" or host.lower() in ("localhost", "localhost."):
        return True  # AF_UNIX socket paths are local by construction
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _address_host(event: str, args: tuple) -> object:
    if event == "socket.getaddrinfo":
        return args[0]
    if event == "socket.sendmsg":
        return args[1] if len(args) > 1 else None
    addr = args[1]
    if isinstance(addr, tuple):
        return addr[0]
    return addr  # AF_UNIX: a path


def _hook(event: str, args: tuple) -> None:
    if not _GUARD_ON or event not in EVENTS:
        return
    host = _address_host(event, args)
    allowed = is_loopback(host)
    _ATTEMPTS.append((event, host, allowed))
    if not allowed:
        raise PermissionError(f"network access blocked by test guard: {event} {host!r}")


sys.addaudithook(_hook)


@contextlib.contextmanager
def socket_guard():
    global _GUARD_ON
    _ATTEMPTS.clear()
    _GUARD_ON = True
    try:
        yield _ATTEMPTS
    finally:
        _GUARD_ON = False


def test_guard_sees_and_blocks_attempts_and_is_inert_outside():
    with socket_guard() as attempts:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, \
                pytest.raises(PermissionError):
            s.connect(("192.0.2.1", 9))  # TEST-NET: refused by the hook before any packet
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"x", ("127.0.0.1", 9))  # loopback is allowed
    assert [(e, h, ok) for e, h, ok in attempts] == [
        ("socket.connect", "192.0.2.1", False), ("socket.sendto", "127.0.0.1", True)]
    _ATTEMPTS.clear()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"x", ("127.0.0.1", 9))
    assert _ATTEMPTS == []  # inert outside the guard
    assert is_loopback("127.8.9.1") and is_loopback("::1") and is_loopback("/tmp/s.sock")
    assert not is_loopback("10.0.0.1") and not is_loopback("huggingface.co")


def _input(tmp_path: Path, n: int = 24) -> Path:
    """The first `n` rows of examples/train.jsonl (the CPUs here are shared: keep it small)."""
    path = tmp_path / "train.jsonl"
    path.write_text("".join((EXAMPLES / "train.jsonl").read_text().splitlines(True)[:n]))
    return path


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"run:\n  shard_size: 8\n  models_dir: {ROOT / 'models'}\n"
                   f"refusals:\n  cases: {EXAMPLES / 'refusal_cases.jsonl'}\n")
    return cfg


@pytest.mark.models
def test_full_augmentation_in_process_attempts_no_network(tmp_path, monkeypatch):
    from local_augment.config import load_config
    from local_augment.engines import embedder as embedder_mod
    from local_augment.run.pipeline import run

    monkeypatch.setattr(embedder_mod, "_LOADED", {})  # load the model under the guard too
    cfg = load_config(_config(tmp_path))
    with socket_guard() as attempts:
        result = run(cfg, _input(tmp_path), tmp_path / "out",
                     methods=["templates", "refusals"])
    blocked = [a for a in attempts if not a[2]]
    assert blocked == [], f"non-loopback network attempts: {blocked}"
    counts = result.report["counts"]
    assert counts["originals"] > 0 and counts["augmented"] > 0
    assert result.report["accepted_per_method"].get("refusals", 0) > 0
    assert set(result.report["accounting"].values()) == {"ok"}


SITECUSTOMIZE = textwrap.dedent('''
    """Test guard: refuse every non-loopback socket connection; log every attempt."""
    import ipaddress, os, sys

    _LOG = os.environ["NO_NETWORK_LOG"]
    _EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.sendmsg")

    def _loopback(host):
        if host is None or isinstance(host, (bytes, bytearray)):
            return True
        if not isinstance(host, str):
            return False
        if host.startswith("/") or host == "" or host.lower() in ("localhost", "localhost."):
            return True
        try:
            return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
        except ValueError:
            return False

    def _hook(event, args):
        if event not in _EVENTS:
            return
        if event == "socket.getaddrinfo":
            host = args[0]
        elif event == "socket.sendmsg":
            host = args[1] if len(args) > 1 else None
        else:
            host = args[1][0] if isinstance(args[1], tuple) else args[1]
        ok = _loopback(host)
        with open(_LOG, "a") as fh:
            fh.write(f"{event}\\t{host!r}\\t{'ok' if ok else 'BLOCKED'}\\n")
        if not ok:
            raise PermissionError(f"network access blocked: {event} {host!r}")

    sys.addaudithook(_hook)
    with open(_LOG, "a") as fh:
        fh.write("guard installed\\n")
''')


@pytest.mark.models
def test_cli_run_succeeds_with_non_loopback_connections_refused(tmp_path):
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "net.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(guard), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "NO_NETWORK_LOG": str(log)}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "local_augment", "augment", str(_input(tmp_path)), "-o",
         str(out), "-c", str(_config(tmp_path)), "--methods", "templates,refusals", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "guard installed"  # the guard really ran in that interpreter
    assert [ln for ln in lines if ln.endswith("BLOCKED")] == []
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["augmented"] > 0 and "PermissionError" not in proc.stderr
