"""Protected spans: text a translation must not touch, masked before and restored after.

Code blocks and inline code, URLs, e-mail addresses, placeholders (`{{order_id}}`, `{name}`,
`%s`, `$VAR`) and numbers are replaced by short mask tokens (`QZ0`, `QZ1`, …) that translation
models copy through; `restore` puts the originals back and reports the spans whose mask did not
survive, so the candidate can be rejected with `lost_span:<span>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Order matters: earlier patterns win where matches overlap.
PATTERNS: list[tuple[str, str]] = [
    ("mask_like", r"\b[Qq][Zz]\d+\b"),  # literal text that looks like a mask is protected too
    ("code_block", r"```.*?```|~~~.*?~~~"),
    ("code", r"`[^`\n]+`"),
    ("url", r"\b(?:https?|ftp)://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]|\bwww\.[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]"),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    ("placeholder", r"\{\{[^{}\n]*\}\}|\{[A-Za-z_][\w.]*\}|%\(\w+\)[sd]|%[sd]|\$\{?[A-Z_][A-Z0-9_]*\}?|<[A-Z_][A-Z0-9_]*>"),
    ("number", r"(?<![\w.])[-+]?\d+(?:[.,:/-]\d+)*%?(?![\w])"),
]
_SPAN_RE = re.compile("|".join(f"(?P<{k}>{p})" for k, p in PATTERNS), re.S)
MASK_PREFIX = "QZ"
# A mask as a translation may give it back: `QZ3`, `QZ 3`, `qz3`, `Qz-3`.
_MASK_RE = re.compile(rf"{MASK_PREFIX}\s?-?\s?(\d+)", re.I)


@dataclass(frozen=True)
class Masked:
    """A text with its protected spans replaced by masks; `spans[i]` is the text of mask i."""

    text: str
    spans: tuple[str, ...]
    kinds: tuple[str, ...] = ()

    def mask(self, i: int) -> str:
        return f"{MASK_PREFIX}{i}"


def mask(text: str) -> Masked:
    """Replace every protected span by `QZ<i>`, numbered in order of appearance."""
    spans: list[str] = []
    kinds: list[str] = []

    def sub(m: re.Match[str]) -> str:
        spans.append(m.group(0))
        kinds.append(m.lastgroup or "span")
        return f"{MASK_PREFIX}{len(spans) - 1}"

    return Masked(_SPAN_RE.sub(sub, text), tuple(spans), tuple(kinds))


def restore(text: str, masked: Masked) -> tuple[str, list[str]]:
    """(text with masks replaced by their spans, spans whose mask is missing).

    A mask number the source never had (a hallucinated mask) is left as it is, so QC sees it.
    """
    if not masked.spans:
        return text, []
    seen: set[int] = set()

    def sub(m: re.Match[str]) -> str:
        i = int(m.group(1))
        if i < len(masked.spans):
            seen.add(i)
            return masked.spans[i]
        return m.group(0)

    out = _MASK_RE.sub(sub, text)
    lost = [s for i, s in enumerate(masked.spans) if i not in seen]
    return out, lost


def has_mask_only(text: str) -> bool:
    """True when nothing but masks, spaces and punctuation is left to translate."""
    rest = _MASK_RE.sub(" ", text)
    return not re.search(r"[^\W\d_]", rest)


def short(span: str, limit: int = 40) -> str:
    """A span as it appears in a reason: one line, at most `limit` characters."""
    one = " ".join(span.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
