"""Prompt templates (local_augment/prompts/*.txt or the user's files) and the parsing of
what models answer: JSON tolerated in fences or cut short, numbered or bulleted lists, quotes."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_augment.errors import UserError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.S)
_QUOTED = re.compile(r'"((?:[^"\\\n]|\\.)+)"')


@dataclass(frozen=True)
class Prompt:
    """A prompt template: its text and an id (file stem + content hash) for provenance."""

    id: str
    text: str

    def render(self, **values: Any) -> str:
        """Fill `{name}` placeholders; other braces (JSON examples) are left as they are."""
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), self.text)


def load_prompt(name: str, override: str | Path | None = None) -> Prompt:
    """A built-in prompt from local_augment/prompts/<name>.txt, or the user's file instead."""
    path = Path(override) if override is not None else PROMPTS_DIR / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UserError(f"{path}: cannot read prompt template: {exc.strerror or exc}") from exc
    if not text:
        raise UserError(f"{path}: prompt template is empty")
    return Prompt(id=f"{path.stem}@{content_id(text)}", text=text)


def content_id(text: str) -> str:
    """A short hash of a prompt file's text, for provenance and the resume fingerprint."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def _unescape(s: str) -> str:
    try:
        return json.loads(f'"{s}"')
    except ValueError:
        return s


def extract_json(text: str) -> Any:
    """The JSON value in a model's answer, tolerating code fences, prose around it and an
    answer cut short (missing closing brackets). None when there is none."""
    text = text.strip()
    fenced = _FENCE.search(text)
    if fenced and fenced.group(1).strip():
        text = fenced.group(1).strip()
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    if not starts:
        return None
    body = text[min(starts):]
    closer = "]" if body[0] == "[" else "}"
    end = body.rfind(closer)
    candidates = [body[: end + 1]] if end >= 0 else []
    candidates += [body + tail for tail in ('"]', "]", '"}', "}", '"]}', "]}")]
    for cand in candidates:
        try:
            return json.loads(cand)
        except ValueError:
            continue
    return None


def strings_in(value: Any) -> list[str]:
    """The strings of a parsed JSON answer: a list of strings, {"key": [..]}, [{"text": ..}]."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out += [item] if isinstance(item, str) else strings_in(item) if isinstance(item, dict) else []
        return out
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if lists:
            return strings_in(lists[0])
        return [v for v in value.values() if isinstance(v, str)]
    return []


_ITEM_LINE = re.compile(r"^\s*(?:\d{1,2}\s*[.):]|[-*•]|\(\d{1,2}\))\s+(.+?)\s*$")


def parse_list(text: str) -> list[str] | None:
    """Items of a list answer: JSON, numbered or bulleted lines, quoted strings, or one plain line.

    Returns None when the answer holds no usable list (multi-line prose, broken JSON without
    strings); an empty list when the answer is an empty JSON list.
    """
    text = (text or "").strip()
    if not text:
        return []
    value = extract_json(text)
    if value is not None:
        items = strings_in(value)
        if items or value in ([], {}):
            return [clean_item(s) for s in items]
    lines = [m.group(1) for m in map(_ITEM_LINE.match, text.splitlines()) if m]
    if lines:
        return [clean_item(s) for s in lines]
    quoted = [_unescape(q) for q in _QUOTED.findall(text)]
    if len(quoted) >= 2 or (quoted and text[0] in "[{"):
        return [clean_item(s) for s in quoted]
    if "\n" not in text and text[0] not in "[{":
        return [clean_item(text)]
    return None


def clean_item(s: str) -> str:
    """One list item without surrounding quotes, whitespace or a trailing comma."""
    s = s.strip().rstrip(",").strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'“”":
        s = s[1:-1].strip()
    return s.strip("“”").strip()


def normalized(text: str) -> str:
    """Case, whitespace and end punctuation folded: for spotting copies of the source."""
    return " ".join(text.casefold().split()).rstrip(" .?!")


# "Sure!", "Certainly,", "Of course." opening an answer, and "Here's the shorter version:" after it
_OPENER = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|okay|ok|absolutely)\b[!,.]*\s*)?"
    r"(?:here(?:'s| is| are)\b[^\n:]{0,60}:\s*)?", re.I)


def strip_opener(text: str, source: str = "") -> str:
    """The answer without a chatty opener ("Sure! Here's the brief version: …"), unless the
    source opens the same way (an answer that itself starts "Here are the steps:")."""
    m = _OPENER.match(text or "")
    if not m or not m.group(0).strip():
        return (text or "").strip()
    if normalized(source).startswith(normalized(m.group(0))):
        return text.strip()
    rest = text[m.end():].strip()
    return rest[:1].upper() + rest[1:] if rest and rest[0].islower() else rest


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*\s*")


def cut_loop(text: str) -> str:
    """A repetition loop cut off: a sentence said again right after itself is dropped (the
    first time stays), as small models do when they do not stop."""
    parts = _SENTENCE.findall(text or "")
    if len(parts) < 2:
        return (text or "").strip()
    out: list[str] = []
    looped = False
    for part in parts:
        if out and normalized(part) and normalized(part) == normalized(out[-1]):
            looped = True
            continue
        out.append(part)
    # the loop was cut off mid-sentence: the unfinished repeat goes too
    if looped and len(out) > 1 and any(normalized(p).startswith(normalized(out[-1]))
                                       for p in out[:-1]):
        out.pop()
    return "".join(out).strip()


def choose(answers: Sequence[str], flaw: Callable[[str], str | None],
           gain: Callable[[str], Any] | None = None) -> int:
    """Of several samples of one request, the one worth a candidate: among the answers without
    a flaw (`flaw` returns why one is unusable, or None), the first with the most `gain` (the
    first, without one); 0 when every answer has a flaw."""
    good = [i for i, answer in enumerate(answers) if flaw(answer) is None]
    if not good:
        return 0
    return max(good, key=lambda i: (gain(answers[i]) if gain else 0, -i))
