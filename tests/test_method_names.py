"""A method is known only to its own module and the registry: no other module names it."""

from __future__ import annotations

import ast
from pathlib import Path

from local_augment.methods import REGISTRY

PACKAGE = Path(__file__).resolve().parents[1] / "local_augment"
# the same word meaning something else, not the method
OTHER_MEANING = {
    ("augmenters/templates.py", "paraphrase"),  # the English verb, in IMPERATIVE_VERBS
    ("augmenters/outputs.py", "templates"),  # its prompt templates' ids, in provenance
}


def _own_module(method: str) -> Path:
    return PACKAGE / (REGISTRY[method].module.split(".", 1)[1].replace(".", "/") + ".py")


def test_no_method_name_literal_outside_its_module_and_the_registry() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "methods.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value in REGISTRY and path != _own_module(node.value) \
                    and (str(path.relative_to(PACKAGE)), node.value) not in OTHER_MEANING:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert found == []
