"""The learners of scripts/bench_downstream.py: same steps and hyperparameters for every arm.

- `FastLearner`: all-MiniLM-L6-v2 fine-tuned end to end with a linear head over mean-pooled
  token vectors; the test label is the argmax.
- `SFTLearner`: SmolLM2-135M-Instruct fully fine-tuned on (request -> label reply) chats, loss
  on the reply's tokens only; the test answer is greedy and must equal the label's reply.

Both draw their batches uniformly with replacement from the arm's rows, so an arm with more rows
gets no more optimizer steps than one with fewer.
"""

from __future__ import annotations

import random
from pathlib import Path

Example = tuple[str, str]


def _device() -> str:
    from local_augment.engines.manifest import pick_device

    return pick_device("auto")


class FastLearner:
    name = "fast (all-MiniLM-L6-v2 + linear head)"

    def __init__(self, model_dir: Path, labels: list[str], steps: int = 0, batch: int = 16,
                 lr: float = 5e-5, head_lr: float = 2e-3) -> None:
        self.path = model_dir / "all-minilm-l6-v2"
        self.labels = labels
        self.steps = steps or 150
        self.batch, self.lr, self.head_lr = batch, lr, head_lr

    def train_and_test(self, rows: list[Example], test: list[Example], seed: int) -> float:
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.manual_seed(seed)
        rng = random.Random(seed)
        dev = _device()
        tok = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        enc = AutoModel.from_pretrained(self.path, local_files_only=True).to(dev)
        index = {lab: i for i, lab in enumerate(self.labels)}
        head = torch.nn.Linear(enc.config.hidden_size, len(self.labels)).to(dev)
        opt = torch.optim.AdamW([{"params": enc.parameters(), "lr": self.lr},
                                 {"params": head.parameters(), "lr": self.head_lr}])

        def logits(texts: list[str]) -> torch.Tensor:
            b = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt").to(dev)
            hidden = enc(**b).last_hidden_state
            mask = b["attention_mask"].unsqueeze(-1).float()
            return head((hidden * mask).sum(1) / mask.sum(1))

        enc.train()
        for _ in range(self.steps):
            batch = [rows[rng.randrange(len(rows))] for _ in range(self.batch)]
            y = torch.tensor([index[lab] for _, lab in batch], device=dev)
            loss = torch.nn.functional.cross_entropy(logits([t for t, _ in batch]), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        enc.eval()
        right = 0
        ordered = sorted(test, key=lambda t: len(t[0]))  # length-sorted batches pad little
        with torch.no_grad():
            for i in range(0, len(ordered), 128):
                part = ordered[i:i + 128]
                pred = logits([t for t, _ in part]).argmax(-1).tolist()
                right += sum(self.labels[p] == lab for p, (_, lab) in zip(pred, part, strict=True))
        return right / max(1, len(test))


class SFTLearner:
    name = "sft (SmolLM2-135M-Instruct, full fine-tune)"

    def __init__(self, model_dir: Path, labels: list[str], steps: int = 0, batch: int = 8,
                 lr: float = 5e-5) -> None:
        self.path = model_dir / "smollm2-135m-instruct"
        self.labels = labels
        self.steps = steps or 200
        self.batch, self.lr = batch, lr

    def train_and_test(self, rows: list[Example], test: list[Example], seed: int) -> float:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from scripts.bench_downstream import reply

        torch.manual_seed(seed)
        rng = random.Random(seed)
        dev = _device()
        tok = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        model = AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True,
                                                     dtype=torch.float32).to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr)

        def prompt(text: str) -> str:
            return tok.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                           add_generation_prompt=True)

        model.train()
        for _ in range(self.steps):
            batch = [rows[rng.randrange(len(rows))] for _ in range(self.batch)]
            ids, labels = [], []
            for text, lab in batch:
                p = tok(prompt(text), add_special_tokens=False)["input_ids"]
                a = tok(reply(lab) + tok.eos_token, add_special_tokens=False)["input_ids"]
                ids.append(p + a)
                labels.append([-100] * len(p) + a)
            width = max(len(x) for x in ids)
            pad = tok.pad_token_id
            x = torch.tensor([[pad] * (width - len(r)) + r for r in ids], device=dev)
            y = torch.tensor([[-100] * (width - len(r)) + r for r in labels], device=dev)
            att = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in ids], device=dev)
            loss = model(input_ids=x, attention_mask=att, labels=y).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        right = 0
        longest = max(len(tok(reply(lab))["input_ids"]) for lab in self.labels) + 2
        ordered = sorted(test, key=lambda t: len(t[0]))
        with torch.no_grad():
            for i in range(0, len(ordered), 32):
                part = ordered[i:i + 32]
                b = tok([prompt(t) for t, _ in part], return_tensors="pt", padding=True,
                        add_special_tokens=False).to(dev)
                out = model.generate(**b, max_new_tokens=longest, do_sample=False,
                                     pad_token_id=tok.pad_token_id)
                answers = tok.batch_decode(out[:, b["input_ids"].shape[1]:],
                                           skip_special_tokens=True)
                right += sum(" ".join(a.split()).casefold() == reply(lab).casefold()
                             for a, (_, lab) in zip(answers, part, strict=True))
        return right / max(1, len(test))


def learner_for(sft: bool, model_dir: Path, labels: list[str], steps: int
                ) -> FastLearner | SFTLearner:
    return (SFTLearner if sft else FastLearner)(model_dir, labels, steps)
