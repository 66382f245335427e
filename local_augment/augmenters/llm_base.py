"""The base of every LLM method: it builds requests and parses answers; serving is not its job.

A method says what to ask (`requests(batch) -> list[Request]`) and how to read what came back
(`parse(request, answers) -> list[Candidate]`). Who answers is the executor's choice: by default
the run's engine (`serve`: one `chat` per distinct sampling setting, in-process vLLM or a server
with many requests in flight); on a GPU Ray cluster, `ray.data.llm` replicas, whose answers are
handed back through `respond`. Both paths run the same `requests` and `parse`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from local_augment.augmenters.base import Augmenter
from local_augment.data.records import Candidate, Example
from local_augment.engines.llm import LLMEngine, Sampling


@dataclass(frozen=True)
class Request:
    """One conversation to answer `sampling.n` times, for one source example."""

    example: Example
    conversation: list[dict[str, str]]
    sampling: Sampling
    tag: str = ""  # which of the method's prompts asked (e.g. an output variant)


def messages(system: str, turns: Sequence[tuple[str, str]],
             system_role: bool = True) -> list[dict[str, str]]:
    """A chat: the task as a system message, then (role, text) turns; without a system role
    (`llm.system_prompt: false`) the task opens the first user message instead."""
    out = [{"role": role, "content": text} for role, text in turns]
    if system_role:
        return [{"role": "system", "content": system}, *out]
    if out and out[0]["role"] == "user":
        out[0] = {"role": "user", "content": f"{system}\n\n{out[0]['content']}"}
    return out


def serve(llm: LLMEngine, requests: Sequence[Request]) -> list[list[str]]:
    """Answers per request: one `chat` per distinct sampling setting, in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, req in enumerate(requests):
        groups.setdefault(req.sampling.key(), []).append(i)
    answers: list[list[str]] = [[] for _ in requests]
    for idx in groups.values():
        params = requests[idx[0]].sampling
        got = llm.chat([requests[i].conversation for i in idx], params)
        for i, samples in zip(idx, got, strict=True):
            answers[i] = list(samples)
    return answers


class LLMAugmenter(Augmenter, abstract=True):
    """A method whose candidates come from the run's LLM (see the module docstring)."""

    llm: LLMEngine

    def load(self) -> None:
        self.llm.load()

    @abstractmethod
    def requests(self, batch: Sequence[Example]) -> list[Request]:
        """What to ask the model for this shard; a pure function of the batch and the config."""

    @abstractmethod
    def parse(self, request: Request, answers: list[str]) -> list[Candidate]:
        """The candidates of one request's answers; never raises, whatever the answers are."""

    def generate(self, batch: Sequence[Example]) -> list[Candidate]:
        requests = self.requests(batch)
        return self.respond(requests, serve(self.llm, requests) if requests else [])

    def respond(self, requests: Sequence[Request], answers: Sequence[list[str]]) -> list[Candidate]:
        """Candidates from answers served elsewhere, one list of samples per request."""
        out: list[Candidate] = []
        for req, samples in zip(requests, answers, strict=True):
            out += self.parse(req, list(samples))
        return out

    def model(self) -> dict[str, Any]:
        return self.llm.describe()
