"""Session-scoped LLM engines on the real SmolLM2: in-process vLLM and a vLLM OpenAI server.

Each start costs 30-60 s on this CPU, so each is started once per test run and stopped at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from local_augment.config import Config, LLMConfig

ROOT = Path(__file__).resolve().parent.parent
SERVED = "smollm2-135m-instruct"


def small_llm_config(**over) -> LLMConfig:
    """Short answers, so the slow tests stay quick on 2 CPU cores."""
    values = dict(max_tokens=96, max_model_len=2048, memory_gib=1.0, batch_size=256)
    values.update(over)
    return LLMConfig(**values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vLLM server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def stop_process_group(proc: subprocess.Popen) -> None:
    """Stop the server and the engine processes it spawned (its own process group)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def llm_path(manifest) -> Path:
    _, path = manifest.require(SERVED, "llm")
    return path


@pytest.fixture(scope="session")
def vllm_engine(manifest, llm_path):
    """The in-process VLLMEngine, loaded once."""
    from local_augment.engines.llm.inprocess import VLLMEngine

    engine = VLLMEngine(small_llm_config(), llm_path,
                        manifest.describe(manifest.get(SERVED)), seed=0).load()
    yield engine
    engine.unload()


@pytest.fixture
def llm_ctx(manifest, vllm_engine):
    """A Context whose run LLM is the session's in-process engine."""
    from local_augment.augmenters.base import Context

    cfg = Config()
    cfg.llm = small_llm_config()
    ctx = Context(config=cfg, manifest=manifest, seed=0)
    ctx.engines.get("llm", lambda: vllm_engine)
    return ctx


def server_command(path: Path, port: int) -> list[str]:
    """The same flags as `make serve`, on a loopback port."""
    return [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(path), "--served-model-name", SERVED,
        "--host", "127.0.0.1", "--port", str(port), "--dtype", "auto",
        "--max-model-len", "2048", "--enforce-eager", "--seed", "0",
        "--kv-cache-memory-bytes", str(1 << 30), "--disable-uvicorn-access-log",
    ]


@pytest.fixture(scope="session")
def vllm_server(llm_path, tmp_path_factory):
    """A real vLLM OpenAI server on a free port; yields its base URL, stopped by pid at the end."""
    from local_augment.engines.llm.inprocess import configure_common_env, configure_cpu_env
    from local_augment.engines.manifest import pick_device

    port = free_port()
    env_before = dict(os.environ)
    configure_common_env()
    if pick_device() == "cpu":
        configure_cpu_env()
    env = dict(os.environ)
    os.environ.clear()
    os.environ.update(env_before)
    log_path = tmp_path_factory.mktemp("vllm_server") / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(server_command(llm_path, port), cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        wait_http(base + "/models", proc)
    except Exception:
        stop_process_group(proc)
        raise RuntimeError(log_path.read_text(errors="replace")[-3000:]) from None
    yield base
    stop_process_group(proc)
