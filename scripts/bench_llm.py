"""Paraphrase throughput: our augmenter vs bare `vllm.LLM.chat`, and vs one request per sample.

    python scripts/bench_llm.py [--quick] [--n-prompts 64] [--sequential 8] [--model NAME]

1. bare:   `vllm.LLM.chat` over the augmenter's own requests (one per example and rewrite axis),
   same SamplingParams.
2. ours:   ParaphraseAugmenter.generate on the same examples, sharing that LLM (target >= 90 %).
3. server one-by-one: the same prompts against a vLLM OpenAI server, one request in flight at a
   time (Data-Juicer's pattern), on a subset (target: ours >= 5x faster).
4. server engine: our ServerEngine (many requests in flight) on the same server, for reference.
5. llama.cpp (`--llamacpp GGUF`): ServerEngine against llama-cpp-python's OpenAI-compatible
   server on the GGUF the model was converted from, the same conversations, in the same run;
   and the judge's cost per pair (both orders) on vLLM in-process and on that server.
Output tokens are counted with the model's tokenizer on the returned texts, the same way for all.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VLLM_CACHE_ROOT", str(ROOT / ".cache" / "vllm"))


def load_examples(k: int):
    from local_augment.data.records import Example

    rows = []
    for name in ("train.jsonl", "chat.jsonl"):
        path = ROOT / "examples" / name
        if path.is_file():
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    out = []
    for i in range(k):
        row = dict(rows[i % len(rows)])
        layout = "messages" if "messages" in row else "alpaca"
        out.append(Example(id=f"b{i}", line=i + 1, layout=layout, row=row))
    return out


def count_tokens(tokenizer, answers) -> int:
    return sum(len(tokenizer.encode(t, add_special_tokens=False)) for a in answers for t in a)


def timed(label: str, fn, tokenizer, n_items) -> dict:
    t0 = time.perf_counter()
    answers, paraphrases = fn()
    dt = time.perf_counter() - t0
    toks = count_tokens(tokenizer, answers)
    return {"mode": label, "prompts": n_items, "seconds": dt, "out_tok_s": toks / dt,
            "paraphrases_s": paraphrases / dt, "prompts_s": n_items / dt}


def bench_in_process(ctx, examples, judge_pairs: int = 0) -> tuple[list[dict], dict]:
    """bare vs ours on one vLLM engine; with `judge_pairs`, the judge timed on it too."""
    from local_augment.engines.llm import get_llm

    engine = get_llm(ctx)
    t0 = time.perf_counter()
    engine.inner.load()
    load_s = time.perf_counter() - t0
    try:
        rows, info = _in_process(engine, ctx, examples, load_s)
        if judge_pairs:
            judge_seconds(engine, examples, judge_pairs, "vLLM in-process")
        return rows, info
    finally:
        ctx.engines.unload_all()


def _in_process(engine, ctx, examples, load_s: float) -> tuple[list[dict], dict]:
    from local_augment.augmenters.paraphrase import create
    from local_augment.engines.llm.prompting import parse_list

    aug = create(ctx)
    vllm = engine.inner
    tokenizer = vllm._llm.get_tokenizer()
    requests = aug.requests(examples)  # the augmenter's own work: one per example and axis
    params = requests[0].sampling
    convs = [r.conversation for r in requests]
    sp = vllm.sampling_params(params)
    vllm._llm.chat(convs[:4], sp, use_tqdm=False)  # warm-up

    def bare():
        outs = vllm._llm.chat(convs, sp, use_tqdm=False)
        answers = [[o.text for o in r.outputs] for r in outs]
        return answers, sum(len(parse_list(t) or []) for a in answers for t in a)

    seen: list = []
    chat = engine.chat

    def keep_answers(conversations, p):  # the augmenter's own answers, for the token count
        answers = chat(conversations, p)
        seen.extend(answers)
        return answers

    def ours():
        engine.chat = keep_answers
        cands = aug.generate(examples)
        engine.chat = chat
        return seen, sum(c.reason is None for c in cands)

    rows = []
    for label, fn in (("bare vllm.LLM.chat", bare), ("ours (augmenter, in-process)", ours)):
        vllm._llm.reset_prefix_cache()  # the second mode must not find the first's prompts cached
        rows.append(timed(label, fn, tokenizer, len(convs)))
        print_row(rows[-1])
    return rows, {"load_s": load_s, "tokenizer": tokenizer, "convs": convs, "params": params}


@contextmanager
def serving(cmd: list[str], log_name: str, label: str) -> Iterator[str]:
    """Run a server command in its own process group; yields its /v1 URL once it answers."""
    import subprocess

    from tests.fixtures_llm import stop_process_group, wait_http

    port = cmd[cmd.index("--port") + 1]
    log = open(ROOT / ".cache" / log_name, "wb")  # noqa: SIM115 - the server's, until it stops
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        t0 = time.perf_counter()
        wait_http(base + "/models", proc)
        print(f"{label} up in {time.perf_counter() - t0:.1f} s", flush=True)
        yield base
    finally:
        stop_process_group(proc)
        log.close()


def server_engine_row(ctx, info, base: str, served: str, label: str) -> tuple[dict, object]:
    """Our ServerEngine on `base` over the augmenter's requests: the row, and the engine."""
    from local_augment.engines.llm.prompting import parse_list
    from local_augment.engines.llm.server import ServerEngine

    cfg = ctx.config.llm.model_copy(update={"engine": "server", "base_url": base,
                                            "served_model": served})
    eng = ServerEngine(cfg, {"name": served}).load()

    def many():
        answers = eng.chat(info["convs"], info["params"])
        return answers, sum(len(parse_list(a[0]) or []) for a in answers)

    row = timed(label.format(n=cfg.max_concurrency), many, info["tokenizer"], len(info["convs"]))
    print_row(row)
    return row, eng


def judge_seconds(engine, examples, k: int, where: str) -> float:
    """The judge's seconds a pair (both orders, the six-demonstration prefix) on `engine`."""
    from local_augment.engines.llm.prompting import load_prompt
    from local_augment.quality.judge import judge_conversations

    pairs = [(ex.instruction, ex.instruction.lower()) for ex in examples[:k]]
    both = judge_conversations(load_prompt("judge").text, pairs + [(b, a) for a, b in pairs])
    engine.yes_probability(both[:2])  # warm-up
    t0 = time.perf_counter()
    engine.yes_probability(both)
    per_pair = (time.perf_counter() - t0) / len(pairs)
    print(f"judge on {where}: {per_pair:.2f} s a pair (both orders, {len(pairs)} pairs)",
          flush=True)
    return per_pair


def bench_server(args, ctx, info) -> list[dict]:
    import openai

    from local_augment.engines.llm.inprocess import configure_common_env, configure_cpu_env
    from local_augment.engines.llm.prompting import parse_list
    from tests.fixtures_llm import SERVED, free_port, server_command

    configure_common_env()
    configure_cpu_env()
    _, path = ctx.manifest.require(ctx.config.llm.model, "llm")
    rows = []
    with serving(server_command(path, free_port()), "bench_llm_server.log", "server") as base:
        params = info["params"]
        k = args.sequential
        client = openai.OpenAI(base_url=base, api_key="EMPTY", max_retries=0, timeout=300)
        convs = info["convs"]
        guided = {} if params.json_schema is None else {"response_format": {
            "type": "json_schema", "json_schema": {"name": "a", "schema": params.json_schema}}}

        def one_by_one():
            answers = []
            for conv in convs[:k]:
                r = client.chat.completions.create(
                    model=SERVED, messages=conv, max_tokens=params.max_tokens,
                    temperature=params.temperature, extra_body={"top_k": params.top_k},
                    **guided)
                answers.append([r.choices[0].message.content or ""])
            return answers, sum(len(parse_list(a[0]) or []) for a in answers)

        rows.append(timed("server, one request per sample", one_by_one, info["tokenizer"], k))
        print_row(rows[-1])
        row, eng = server_engine_row(ctx, info, base, SERVED,
                                     "server, ServerEngine x{n} in flight")
        rows.append(row)
        eng.unload()
    return rows


def bench_llamacpp(args, ctx, info, examples) -> list[dict]:
    """ServerEngine on llama-cpp-python's server (`python -m llama_cpp.server`), same prompts."""
    from tests.fixtures_llm import free_port

    cmd = [args.llamacpp_python, "-m", "llama_cpp.server", "--model", args.llamacpp,
           "--model_alias", "llamacpp", "--host", "127.0.0.1", "--port", str(free_port()),
           "--n_ctx", "4096", "--n_threads", str(os.cpu_count() or 1),
           "--logits_all", "true"]  # the judge reads top log-probabilities
    with serving(cmd, "bench_llamacpp_server.log", "llama.cpp server") as base:
        row, eng = server_engine_row(ctx, info, base, "llamacpp", "llama.cpp server, ServerEngine")
        row["judge_s_per_pair"] = judge_seconds(eng, examples, args.judge_pairs, "llama.cpp")
        eng.unload()
    return [row]


HEADER = f"{'mode':40} {'prompts':>7} {'seconds':>8} {'out tok/s':>10} {'para/s':>8} {'prompts/s':>9}"


def print_row(r: dict) -> None:
    print(f"{r['mode']:40} {r['prompts']:7d} {r['seconds']:8.1f} {r['out_tok_s']:10.1f} "
          f"{r['paraphrases_s']:8.2f} {r['prompts_s']:9.2f}", flush=True)


def server_inputs(ctx, examples) -> dict:
    """The augmenter's conversations and sampling, without starting vLLM in-process."""
    from transformers import AutoTokenizer

    from local_augment.augmenters.paraphrase import create

    aug = create(ctx)
    requests = aug.requests(examples)
    _, path = ctx.manifest.require(ctx.config.llm.model, "llm")
    return {"load_s": float("nan"), "tokenizer": AutoTokenizer.from_pretrained(str(path)),
            "convs": [r.conversation for r in requests], "params": requests[0].sampling}


def print_table(rows: list[dict], load_s: float) -> None:
    print(f"\nvLLM in-process load: {load_s:.1f} s")
    print(HEADER)
    for r in rows:
        print_row(r)
    if len(rows) < 2 or "one request" in rows[0]["mode"]:
        return
    bare, ours = rows[0], rows[1]
    print(f"\nours / bare vllm.LLM.chat (prompts/s): {ours['prompts_s'] / bare['prompts_s']:.2f}"
          "  (target >= 0.90)")
    seq = next((r for r in rows if "one request" in r["mode"]), None)
    if seq:
        print(f"ours / one request per sample (prompts/s): "
              f"{ours['prompts_s'] / seq['prompts_s']:.1f}x  (target >= 5x)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="24 prompts, 4 sent one by one")
    ap.add_argument("--n-prompts", type=int, default=64)
    ap.add_argument("--sequential", type=int, default=8, help="prompts sent one by one")
    ap.add_argument("--no-server", action="store_true", help="skip the server comparisons")
    ap.add_argument("--server-only", action="store_true", help="only the server comparisons")
    ap.add_argument("--model", help="LLM name in models/manifest.toml (default: the default LLM)")
    ap.add_argument("--llamacpp", metavar="GGUF", help=(
        "also measure llama-cpp-python's server on this GGUF (the same model's), in this run"))
    ap.add_argument("--llamacpp-python", default=sys.executable, help=(
        "the Python that has llama-cpp-python[server] installed"))
    ap.add_argument("--judge-pairs", type=int, default=16, help="pairs the judge is timed on")
    ap.add_argument("--chunk-size", type=int, help="llm.chunk_size for the in-process engine")
    args = ap.parse_args(argv)
    if args.quick:
        args.n_prompts, args.sequential = 24, 4

    from local_augment.augmenters.base import Context
    from local_augment.config import Config
    from local_augment.engines.manifest import load_manifest

    cfg = Config()
    if args.model:
        cfg.llm.model = args.model
    if args.chunk_size is not None:
        cfg.llm.chunk_size = args.chunk_size
    ctx = Context(config=cfg, manifest=load_manifest(ROOT / "models"), seed=0)
    examples = load_examples(args.n_prompts)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop vLLM
    print(HEADER, flush=True)
    if args.server_only:
        rows, info = [], server_inputs(ctx, examples)
    else:
        rows, info = bench_in_process(ctx, examples, args.judge_pairs if args.llamacpp else 0)
    if not args.no_server:
        rows += bench_server(args, ctx, info)
    if args.llamacpp:
        rows += bench_llamacpp(args, ctx, info, examples)
    print_table(rows, info["load_s"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
