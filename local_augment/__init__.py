"""local_augment: offline, local-model data augmentation for LLM fine-tuning datasets.

Importing the package forces the Hugging Face libraries into offline mode: nothing this
package does may reach a model hub.
"""

from __future__ import annotations

import os

from local_augment.version import __version__

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")



def augment(config, input_path, output_dir, **kwargs):
    """Run one augmentation; see :func:`local_augment.run.pipeline.run`."""
    from local_augment.run.pipeline import run

    return run(config, input_path, output_dir, **kwargs)


__all__ = ["__version__", "augment"]
