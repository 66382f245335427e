"""The environment every benchmark sets before it imports a model library: offline, quiet."""

from __future__ import annotations

import os

QUIET_OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


def quiet_offline() -> None:
    """Set the offline, quiet defaults; a variable the user set keeps its value."""
    for name, value in QUIET_OFFLINE.items():
        os.environ.setdefault(name, value)
