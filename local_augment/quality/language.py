"""Language identification with py3langid, whose model ships inside its wheel (no download).

A variant must be in its source's language. Short texts are where identifiers guess, so a
variant is only called foreign when the identifier is confident on both sides, the text has
enough letters, and the source's language is unlikely for the variant.
"""

from __future__ import annotations

import io
import lzma
import re
from array import array
from functools import lru_cache
from typing import Any

_CODE = re.compile(r"```.*?```|`[^`\n]+`|https?://\S+|\S+@\S+|\{\{[^}]*\}\}", re.S)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def _uint_array(arr: Any) -> array:
    import numpy as np

    out = array({2: "H", 4: "I", 8: "L"}[arr.dtype.itemsize])
    out.frombytes(memoryview(np.ascontiguousarray(arr)).cast("B"))
    return out


@lru_cache(maxsize=1)
def _identifier() -> Any:
    """py3langid's own model, decompressed in memory (its loader writes a temp file, which
    fails on a full disk or under a file-size limit)."""
    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    with lzma.open(MODEL_DIR / MODEL_FILE) as src, np.load(io.BytesIO(src.read()),
                                              allow_pickle=False) as data:
        ident = LanguageIdentifier(
            np.asarray(data["ptc"]), np.asarray(data["pc"]), data["classes"].tolist(),
            _uint_array(data["nextmove"]), data["out_feat"].tolist(), norm_probs=True,
            tk_row=_uint_array(data["nextmove_row"]))
    # ISO 639-1 languages only: the model's rarer classes (Nigerian Pidgin, Frisian, …) take
    # short plain English away from "en" and would make an English source look foreign
    ident.set_languages([lang for lang in ident.nb_classes if len(lang) == 2])
    return ident


def prose(text: str) -> str:
    """The text without code, URLs, e-mail addresses and placeholders (they are no language)."""
    return _CODE.sub(" ", text)


def letters(text: str) -> int:
    return len(_LETTER.findall(text))


def identify(text: str) -> dict[str, float]:
    """Probability per language code (ISO 639-1) of the text's prose."""
    return dict(_identifier().rank(prose(text)))


def language_of(text: str) -> tuple[str, float]:
    probs = identify(text)
    lang = max(probs, key=probs.__getitem__)
    return lang, probs[lang]


def wrong_language(variant: str, source: str, *, min_letters: int = 12,
                   confidence: float = 0.9) -> tuple[str | None, float]:
    """(the variant's language when it is not the source's, else None; P(source language)).

    The source's language is its most likely one, and must be at least `confidence` likely (a
    source the identifier is unsure of is not judged against); the variant is foreign when the identifier
    gives the source's language at most 1 − `confidence` for it (related languages may share the
    rest: Spanish and Galician), and names the variant's most likely language.
    Texts with fewer than `min_letters` letters of prose are not judged.
    """
    if letters(prose(variant)) < min_letters or letters(prose(source)) < min_letters:
        return None, 1.0
    src_lang, src_p = language_of(source)
    if src_p < confidence:  # the source's own language is unclear (short, mixed, numbers)
        return None, 1.0
    probs = identify(variant)
    best = max(probs, key=probs.__getitem__)
    p_src = probs.get(src_lang, 0.0)
    if best != src_lang and p_src <= 1 - confidence:
        return best, p_src
    return None, p_src
