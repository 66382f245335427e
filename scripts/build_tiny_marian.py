#!/usr/bin/env python3
"""Build tiny, real MarianMT models (en<->de, en<->fr) as a models/ folder, deterministically.

Each model is a genuine MarianMTModel (d_model 32, one encoder and one decoder layer) with a
sentencepiece vocabulary trained on generated sentences, saved as safetensors with its tokenizer
files and CHECKSUMS.json, plus its CTranslate2 conversion in `<name>-ct2/`. Weights are random
(std 0.5, so different inputs decode differently): the models exercise every code path of the
translators in seconds, they do not translate. The folder gets a manifest.toml with translator
entries and, with `--embedder`, the real embedder entry pointing at an existing folder.

    python scripts/build_tiny_marian.py OUT_DIR [--embedder models/all-minilm-l6-v2]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import shutil
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent

WORDS = {
    "en": ["the", "a", "order", "number", "please", "write", "explain", "summarize", "list", "why", "how", "what", "is", "are", "email", "code", "python", "function", "return", "value", "customer", "name", "address", "send", "your", "my", "this", "that", "file", "data", "table", "question", "answer", "short", "long", "story", "about", "three", "reasons", "give", "me"],
    "de": ["der", "die", "das", "bitte", "schreibe", "erkläre", "fasse", "zusammen", "liste", "warum", "wie", "was", "ist", "sind", "kunde", "name", "adresse", "sende", "dein", "mein", "diese", "datei", "daten", "tabelle", "frage", "antwort", "kurz", "lang", "geschichte", "über", "drei", "gründe", "gib", "mir", "bestellung", "nummer", "wert"],
    "fr": ["le", "la", "les", "commande", "numéro", "écris", "explique", "résume", "liste", "pourquoi", "comment", "quoi", "est", "sont", "client", "nom", "adresse", "envoie", "ton", "mon", "ce", "fichier", "données", "tableau", "question", "réponse", "court", "long", "histoire", "trois", "raisons", "donne", "moi", "valeur"],
}
EXTRA = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "{", "}", "(", ")", ".", ",", "?", "!", ":", ";", "/", "@", "-", "_", "`", "Q", "Z", "X"]
PAIRS = [("en", "de"), ("de", "en"), ("en", "fr"), ("fr", "en")]
VOCAB_SIZE = 200
D_MODEL = 32


def corpus(seed: int = 1234, lines: int = 1500) -> list[str]:
    """Generated sentences in all three languages, with digits and punctuation."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        words = WORDS[("en", "de", "fr")[i % 3]]
        n = rng.randint(3, 12)
        sent = [rng.choice(words) for _ in range(n)]
        if rng.random() < 0.5:
            sent.insert(rng.randrange(len(sent)), rng.choice(EXTRA) + str(rng.randint(0, 99)))
        out.append(" ".join(sent).capitalize() + rng.choice([".", "?", "!"]))
    return out


def train_spm() -> bytes:
    """A unigram sentencepiece model, byte-stable: identity normalisation, one thread."""
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()), model_writer=buf, vocab_size=VOCAB_SIZE,
        model_type="unigram", normalization_rule_name="identity", num_threads=1,
        character_coverage=1.0, shuffle_input_sentence=False, input_sentence_size=0,
        unk_id=0, bos_id=-1, eos_id=1, pad_id=-1, hard_vocab_limit=False,
        minloglevel=2,
    )
    return buf.getvalue()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_checksums(folder: Path) -> dict[str, str]:
    sums = {p.relative_to(folder).as_posix(): sha256(p)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "CHECKSUMS.json"
            and not p.name.startswith(".")}
    (folder / "CHECKSUMS.json").write_text(json.dumps(sums, indent=1, sort_keys=True) + "\n")
    return sums


def build_model(dest: Path, spm_bytes: bytes, seed: int, src: str, tgt: str) -> None:
    """One MarianMT folder: safetensors weights, tokenizer files, generation config."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    dest.mkdir(parents=True, exist_ok=True)
    (dest / "source.spm").write_bytes(spm_bytes)
    (dest / "target.spm").write_bytes(spm_bytes)
    sp = spm.SentencePieceProcessor(model_proto=spm_bytes)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    # Marian layout: </s> first, <unk> second, the pieces, <pad> last (ct2 drops it)
    vocab = {"</s>": 0, "<unk>": 1}
    for p in pieces:
        if p not in vocab:
            vocab[p] = len(vocab)
    vocab["<pad>"] = len(vocab)
    (dest / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=1) + "\n")
    tok = MarianTokenizer(str(dest / "source.spm"), str(dest / "target.spm"), str(dest / "vocab.json"),
                          source_lang=src, target_lang=tgt)
    tok.save_pretrained(dest)
    pad = vocab["<pad>"]
    cfg = MarianConfig(
        vocab_size=len(vocab), d_model=D_MODEL, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_position_embeddings=256, pad_token_id=pad, eos_token_id=0,
        decoder_start_token_id=pad, init_std=0.5, scale_embedding=True,
        share_encoder_decoder_embeddings=True, tie_word_embeddings=True,
        activation_function="swish", dropout=0.0,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(cfg).eval()
    with torch.no_grad():  # a large std everywhere except norms and the fixed sinusoids
        for name, p in model.named_parameters():
            if "layer_norm" in name or "embed_positions" in name:
                continue
            p.copy_(torch.randn(p.shape) * 0.5 if p.dim() > 1 else torch.randn(p.shape) * 0.1)
        model.final_logits_bias.zero_()
        model.get_input_embeddings().weight[pad].zero_()  # Marian starts decoding from <pad>
    model.generation_config.num_beams = 1
    model.generation_config.max_length = 64
    model.generation_config.bad_words_ids = [[pad]]
    model.save_pretrained(dest, safe_serialization=True)
    for junk in ("special_tokens_map.json", "added_tokens.json"):
        (dest / junk).unlink(missing_ok=True)
    _stabilise_json(dest)


def _stabilise_json(folder: Path) -> None:
    """Sorted keys, no version strings: the same bytes from any transformers version."""
    for p in folder.glob("*.json"):
        data = json.loads(p.read_text())
        if isinstance(data, dict):
            data.pop("transformers_version", None)
        p.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def convert_ct2(src: Path, dest: Path, quantization: str | None = None) -> None:
    import ctranslate2

    if dest.exists():
        shutil.rmtree(dest)
    ctranslate2.converters.TransformersConverter(str(src)).convert(
        str(dest), quantization=quantization, force=True)


def manifest_entries(name: str, src: str, tgt: str) -> str:
    return (
        f'[models.{name}]\nrole = "translator"\ndir = "{name}"\npair = ["{src}", "{tgt}"]\n'
        f'license = "cc-by-4.0"\ndescription = "tiny random MarianMT for tests ({src}->{tgt})"\n'
        f'source = {{ kind = "built", script = "scripts/build_tiny_marian.py" }}\n'
        f'install = "python scripts/build_tiny_marian.py"\n\n'
        f'[models.{name}-ct2]\nrole = "translator-ct2"\ndir = "{name}-ct2"\n'
        f'pair = ["{src}", "{tgt}"]\nlicense = "cc-by-4.0"\n'
        f'description = "CTranslate2 conversion of {name}"\n'
        f'source = {{ kind = "ct2", model = "{name}" }}\n'
        f'install = "python scripts/build_tiny_marian.py"\n\n'
    )


def embedder_entry(embedder: Path) -> str:
    """The real manifest's embedder entry, with `dir` pointing at an existing folder."""
    real = tomllib.loads((ROOT / "models" / "manifest.toml").read_text())["models"]
    name = next(n for n, e in real.items() if e["role"] == "embedder")
    lines = [f"[models.{name}]", 'role = "embedder"', f"dir = {json.dumps(str(embedder.resolve()))}",
             f"license = {json.dumps(real[name].get('license', 'unknown'))}", "[models." + name + ".files]"]
    lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in real[name].get("files", {}).items()]
    return "\n".join(lines) + "\n"


def build(out: Path, *, embedder: Path | None = None, pairs=PAIRS, ct2: bool = True) -> Path:
    """Build the tiny models into `out` (a models/ folder) and return it."""
    out.mkdir(parents=True, exist_ok=True)
    spm_bytes = train_spm()
    text = "# Tiny random MarianMT models for tests; built by scripts/build_tiny_marian.py.\n\n"
    for i, (src, tgt) in enumerate(pairs):
        name = f"opus-mt-{src}-{tgt}"
        build_model(out / name, spm_bytes, seed=100 + i, src=src, tgt=tgt)
        write_checksums(out / name)
        if ct2:
            convert_ct2(out / name, out / f"{name}-ct2")
            write_checksums(out / f"{name}-ct2")
        text += manifest_entries(name, src, tgt)
    if embedder is not None:
        text += embedder_entry(embedder)
    (out / "manifest.toml").write_text(text)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--embedder", type=Path, help="existing embedder folder to list in the manifest")
    ap.add_argument("--no-ct2", action="store_true", help="skip the CTranslate2 conversions")
    args = ap.parse_args(argv)
    build(args.out, embedder=args.embedder, ct2=not args.no_ct2)
    print(f"tiny Marian models in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
