"""The quality-control chain on real components: MiniLM, py3langid, SmolLM2 as scorer.

Assertions are orderings and reasons, not hard-coded scores.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from local_augment.config import load_config
from local_augment.quality import lexical
from local_augment.quality.chain import QualityChain
from local_augment.quality.gate import low_yield
from local_augment.quality.language import wrong_language
from local_augment.quality.pair import Pair

SOURCE = "How do I reset my password if I no longer have access to my recovery e-mail?"
OUTPUT = ("If your recovery e-mail is unavailable, choose 'Forgot password', then 'I can't access "
          "this e-mail', and verify your identity with the phone number on file.")


@pytest.fixture(scope="module")
def scorer(manifest):
    from local_augment.engines.scorer import LMScorer

    _, path = manifest.require("smollm2-135m-instruct", "llm")
    return LMScorer(path).load()


@pytest.fixture(scope="module")
def chain(embedder, scorer):
    return QualityChain(load_config().qc, embedder, scorer)


def pair(variant, source=SOURCE, method="paraphrase", **kw):
    kw.setdefault("output", OUTPUT)
    kw.setdefault("instruction", source)
    return Pair(method, kw.pop("field", "instruction"), variant, source, **kw)


# ------------------------------------------------------------------------------ lexical checks

@pytest.mark.parametrize("variant, what", [
    ("First Rewrite: How do I reset my password without my recovery e-mail?", "prompt_words"),
    ("Here is a JSON list of 3 strings: reset password", "prompt_words"),
    ("Question: How can I reset my password? Answer: use the link", "question_answer"),
    ("Sentence 2: How can I reset my password without the recovery e-mail?", "label"),
    ("How can I reset my password without [insert e-mail here]?", "placeholder"),
    ("1. Reset my password without my recovery e-mail.", "numbering"),
    ("How can I reset (my password without my recovery e-mail?", "unbalanced"),
    ("reset reset reset the password password password reset reset reset", "repetition"),
    ("As an AI, I can reset the password without the recovery e-mail.", "meta"),
    ('Could you translate "Where is it?"?', "punctuation"),
])
def test_artifacts_name_what_they_found(variant, what):
    found = lexical.artifact(variant, 'Translate "Where is it?"' if what == "punctuation"
                             else SOURCE)
    assert found is not None and found.startswith(what)


def test_a_list_item_with_nothing_in_it_is_an_artifact():
    """A bulleted variant Qwen2.5-Coder-1.5B wrote, read bad: it ends with a bare "-"."""
    src = ("That's wrong: 15% of 80 is 0.15 × 80 = 12. The formula most likely multiplied by 15 "
           "instead of 15%; use `=80*15%` or `=80*0.15`.")
    listed = ("- That's wrong.\n- 15% of 80 is 0.15 × 80 = 12.\n- The formula most likely "
              "multiplied by 15 instead of 15%; use `=80*15%` or `=80*0.15`.")
    assert lexical.artifact(listed + "\n-", src, numbering=False) == "empty_item"
    assert lexical.artifact(listed, src, numbering=False) is None
    assert lexical.artifact("- a\n-\n- b", "- a\n-\n- b", numbering=False) is None


def test_artifacts_the_source_has_are_not_artifacts():
    src = "Rewrite this JSON list of 3 strings as YAML: [\"a\", \"b\", \"c\"]"
    assert lexical.artifact("Turn this JSON list of 3 strings into YAML: [\"a\", \"b\", \"c\"]",
                            src.replace("Rewrite", "rewrite")) is None
    assert lexical.artifact("Task: Why is the sky blue?", "Why is the sky blue?",
                            labels=False) is None


def test_trivial_copy_is_lexical():
    assert lexical.trivial_copy("Please reset my password.", "reset my password")
    assert lexical.trivial_copy("The password reset link has expired.",
                                "My password reset link has expired.")
    assert not lexical.trivial_copy("Could you reset my password?", "Reset my password.")
    assert not lexical.trivial_copy("Task: reset my password", "Reset my password.")


def test_details_lost_and_added():
    src = "I was billed for 12 seats but we only use 8 on the Pro plan at https://x.example/b."
    assert lexical.detail_change("I got billed for 12 seats though we use 8 on the Pro plan at "
                                 "https://x.example/b.", src) is None
    assert lexical.detail_change("I was billed for 12 seats but we use 6 on the Pro plan at "
                                 "https://x.example/b.", src) == "lost_detail:8"
    lost = lexical.detail_change("I was billed for 12 seats but we only use 8 on the plan.", src)
    assert lost.startswith("lost_detail:")
    # a request may add a name ("the ATM in Notting Hill"); a statement may not; a name
    # replaced by another is a changed request
    assert lexical.detail_change(src.replace("Pro plan", "Pro plan in Frankfurt"), src) is None
    assert lexical.detail_change(src.replace("Pro plan", "Pro plan in Frankfurt"), src,
                                 request=False) == "added_detail:Frankfurt"
    assert lexical.detail_change(src.replace("Pro plan", "Team plan"), src) == "lost_detail:Pro"
    # a number written out counts as kept; a placeholder must survive verbatim
    assert lexical.detail_change("Why has it not updated in four days?",
                                 "Why has it not updated in 4 days?") is None
    assert lexical.detail_change("Check order {{id}} now", "Check order {{order_id}}").startswith(
        "lost_detail:{{order_id}}")


def test_negation_flip():
    assert lexical.negation_flip("Why can I upload files larger than 2 GB?",
                                 "Why can't I upload files larger than 2 GB?")
    assert not lexical.negation_flip("Why is it not possible to upload files over 2 GB?",
                                     "Why can't I upload files larger than 2 GB?")


def test_answered_instead_lexically():
    src = "Explain what a SQL JOIN does, with a simple example."
    answer = ("Explain what a SQL JOIN does, with a simple example. A SQL JOIN combines rows from "
              "two tables based on a related column, for example orders and customers.")
    assert lexical.restates_then_answers(answer, src)
    assert not lexical.restates_then_answers("Please help with the following. " + src, src)


# ------------------------------------------------------------------------------ language ID

def test_wrong_language_on_the_real_identifier():
    src = "The meeting has been postponed until next week because the manager is ill."
    lang, _ = wrong_language("La reunión se ha aplazado hasta la próxima semana porque el "
                             "gerente está enfermo.", src)
    assert lang == "es"
    assert wrong_language("The meeting was moved to next week since the manager is sick.",
                          src)[0] is None
    assert wrong_language("Français", src)[0] is None  # too short to call


# ------------------------------------------------------------------------------ the chain

def test_chain_reasons_on_real_models(chain):
    cases = {
        "Rewrite: How do I reset my password without my recovery e-mail?": "artifact",
        "Please how do I reset my password if I no longer have access to my recovery e-mail?":
            "trivial_copy",
        "¿Cómo restablezco mi contraseña si ya no tengo acceso a mi correo de recuperación?":
            "wrong_language",
        "Which hiking trails are no longer open in the mountains this week?": "out_of_window",
        "Can I log in with my phone number instead of my e-mail?": "meaning_changed",
        "What steps let me reset my password when I can no longer get into my recovery e-mail?":
            None,
    }
    verdicts = chain.check([pair(v) for v in cases])
    got = {v: (r.reason.split(":")[0] if r.reason else None)
           for v, r in zip(cases, verdicts, strict=True)}
    assert got == cases
    kept = verdicts[-1]
    assert {"similarity", "equivalence", "fluency", "length_ratio"} <= set(kept.scores)


def test_equivalence_ranks_a_paraphrase_above_changed_requests_on_its_topic(chain):
    """Changed requests as people write them, on the source's topic. (A swap of the verb alone,
    every other word kept, is a measured limit of the embedded signals: scripts/qc_planted.py.)"""
    good, *changed = chain.check([
        pair("What steps let me reset my password when I can no longer get into my recovery "
             "e-mail?"),
        pair("How do I change the recovery e-mail on my account?"),
        pair("Why am I not receiving the password reset e-mail?"),
    ], exhaustive=True)
    assert all(good.scores["equivalence"] > c.scores["equivalence"] for c in changed)
    assert {"align_precision_low", "align_recall_low"} <= set(good.scores)


def test_people_wordings_of_one_request_are_kept(chain):
    """Rewordings as people write them (not from the shared pairs): another sentence form,
    another length, "I can't…" for "how do I…" — the embedded regime keeps them."""
    src = "How do I reset my password if I no longer have access to my recovery e-mail?"
    kept = [
        "I can't get into my recovery e-mail anymore. How do I set a new password?",
        "What steps let me reset my password when I can no longer get into my recovery e-mail?",
        "I forgot my password and lost access to the backup e-mail, what now?",
    ]
    verdicts = chain.check([pair(v, src) for v in kept])
    assert [v.reason for v in verdicts] == [None, None, None]


def test_fluency_ranks_garbled_text_below_fluent(chain):
    fluent, garbled = chain.check([
        pair("What steps let me reset my password when I can no longer get into my recovery "
             "e-mail?"),
        pair("password recovery reset e-mail my no access if I when steps let longer get the"),
    ], exhaustive=True)
    assert fluent.scores["fluency"] > garbled.scores["fluency"]


def test_answered_instead_by_embedding(chain):
    v, = chain.check([pair("Choose 'Forgot password', then 'I can't access this e-mail', and "
                           "verify your identity with your phone number.")])
    assert v.reason == "answered_instead"


def test_template_wrappers_pass_and_please_does_not(chain):
    src = "Explain what photosynthesis is in simple terms."
    out = "Photosynthesis is how plants make food from light, water and carbon dioxide."
    verdicts = chain.check([pair(v, src, "templates", output=out) for v in (
        "Task: Explain what photosynthesis is in simple terms.",
        "Could you explain what photosynthesis is in simple terms?",
        "Please explain what photosynthesis is in simple terms.")])
    assert [v.reason for v in verdicts] == [None, None, "trivial_copy"]


def test_output_variants_kind_echo_and_facts(chain):
    src = ("Our Enterprise SLA guarantees 99.95% monthly uptime. If we miss it, you can claim "
           "service credits of 10% of the monthly fee for each 0.1% below the target.")
    ins = "What is the uptime guarantee in your SLA?"

    def out(v, kind="brief"):
        return Pair("outputs", "output", v, src, instruction=ins, kind=kind)

    verdicts = chain.check([
        out("The Enterprise SLA guarantees 99.9% monthly uptime with 10% credits per 0.1% missed."),
        out("What is the uptime guarantee in your SLA? Enterprise: 99.95% monthly uptime, 10% "
            "credit per 0.1% below."),
        out(src + " Thanks."),
        out("- Enterprise SLA: 99.95% monthly uptime\n- Missed: 10% credit per 0.1% below",
            "bulleted"),
        out("- Our Enterprise SLA guarantees 99.95% monthly uptime.\n- If we miss it, you can "
            "claim service credits of 10% of the monthly fee for each 0.1% below the target.",
            "bulleted"),
    ])
    reasons = [v.reason.split(":")[0] if v.reason else None for v in verdicts]
    assert reasons[0] == "lost_detail"
    assert reasons[1] == "artifact" and verdicts[1].reason.endswith("instruction_echo")
    assert reasons[2] == "not_its_kind"
    # notes in place of the source's statements: a list that restates it
    assert verdicts[3].reason == "not_its_kind:restated"
    # the source's own sentences as a list: its form is the change, not a copy (cosine > 0.98)
    assert verdicts[4].reason is None and verdicts[4].scores["similarity"] > 0.98


def test_low_yield_gate_counts_failures_not_near_copies():
    qc = load_config().qc
    results = [("paraphrase", "artifact:label:rewrite")] * 30 + [("paraphrase", None)] * 2
    results += [("templates", "trivial_copy")] * 30 + [("templates", None)] * 5
    gated = low_yield(results, qc)
    assert gated == {"paraphrase": "low_yield_method:2/32"}


def test_the_gate_reads_the_generator():
    """A tiny model (SmolLM2 paraphrasing: ~5% pass) loses its survivors; a generator whose
    candidates mostly pass never does, nor one that fails half the time."""
    from local_augment.quality.gate import survivor_precision

    qc = load_config().qc
    for passed, judged, gated in ((8, 204, True), (25, 100, True), (40, 100, False),
                                  (50, 100, False), (90, 100, False)):
        results = [("paraphrase", None)] * passed + \
            [("paraphrase", "meaning_changed:0.2")] * (judged - passed)
        assert ("paraphrase" in low_yield(results, qc)) is gated, (passed, judged)
    assert survivor_precision(0.9, 0.95, 0.03) > 0.99
    assert survivor_precision(0.05, 0.95, 0.03) < 0.5


def test_each_output_kind_is_its_own_generator():
    """A brief prompt that fails does not take a bulleted prompt's good survivors with it."""
    from local_augment.data.records import Candidate

    qc = load_config().qc
    results = ([("outputs:brief", None)] * 5 + [("outputs:brief", "lost_detail:12")] * 45
               + [("outputs:bulleted", None)] * 40 + [("outputs:bulleted", "lost_detail:3")] * 10)
    assert set(low_yield(results, qc)) == {"outputs:brief"}
    row = {"instruction": "Q?", "input": "", "output": "A."}
    out = Candidate(source_id="s", method="outputs", index=1, row=row, field="output", text="- A",
                    source_text="A.", params={"variant": "bulleted"})
    para = Candidate(source_id="s", method="paraphrase", index=0, row=row, field="instruction",
                     text="Q, please?", source_text="Q?", params={"axis": "more casual"})
    assert (out.generator, para.generator) == ("outputs:bulleted", "paraphrase")


def test_checks_switch_off_per_method(embedder):
    cfg = load_config(overrides={"qc.methods": {"paraphrase": {"artifacts": False,
                                                               "fluency": False}}})
    chain = QualityChain(cfg.qc, embedder, scorer=None)
    v, = chain.check([pair("Rewrite: how can I reset my password if I no longer have access to "
                           "my recovery e-mail?")])
    assert v.reason is None or not v.reason.startswith("artifact")
    assert "fluency" not in v.scores


def test_missing_scorer_model_is_a_notice_not_a_failure(embedder):
    chain = QualityChain(load_config().qc, embedder, scorer=lambda: None)
    v, = chain.check([pair("What steps let me reset my password when I can no longer get into "
                           "my recovery e-mail?")])
    assert v.reason is None and "fluency" not in v.scores
    assert any("scorer model" in n for n in chain.notices)


# ------------------------------------------------------------------------------ the CLI

@pytest.mark.models
def test_qc_command_scores_pairs(tmp_path, monkeypatch, models_dir):
    from click.testing import CliRunner

    from local_augment.cli import cli

    lines = [
        {"pid": "a", "method": "templates", "source_instruction": "Why is the sky blue?",
         "source_output": "Sunlight scatters off air molecules; blue scatters most.",
         "variant_instruction": "Task: Why is the sky blue?",
         "variant_output": "Sunlight scatters off air molecules; blue scatters most."},
        {"pid": "b", "method": "paraphrase", "source_instruction": "Why is the sky blue?",
         "source_output": "Sunlight scatters off air molecules; blue scatters most.",
         "variant_instruction": "First rewrite", "variant_output":
         "Sunlight scatters off air molecules; blue scatters most."},
    ]
    src = tmp_path / "pairs.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "scored.jsonl"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"run:\n  models_dir: {models_dir}\n")
    res = CliRunner().invoke(cli, ["qc", str(src), "-c", str(cfg), "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = [json.loads(x) for x in out.read_text().splitlines()]
    assert [g["pid"] for g in got] == ["a", "b"]
    assert got[0]["verdict"] == "kept" and got[0]["scores"]["similarity"] > 0.8
    assert "equivalence" in got[0]["scores"]
    assert got[1]["verdict"].startswith("artifact:")
    # labelled request pairs as the shared ones come: no method, no outputs; pid and label kept
    pairs = tmp_path / "requests.jsonl"
    pairs.write_text(json.dumps({"pid": "p1", "label": "paraphrase",
                                 "source_instruction": "My card hasn't arrived yet.",
                                 "variant_instruction": "Where is my new card? It still "
                                                        "hasn't come in the mail."}) + "\n")
    res = CliRunner().invoke(cli, ["qc", str(pairs), "-c", str(cfg), "-o", str(out),
                                   "--method", "paraphrase"])
    assert res.exit_code == 0, res.output
    line = json.loads(out.read_text())
    assert line["pid"] == "p1" and line["label"] == "paraphrase" and line["verdict"] == "kept"
    res = CliRunner().invoke(cli, ["qc", str(pairs), "-c", str(cfg), "-o", str(out)])
    assert res.exit_code != 0 and "--method" in res.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"method": "templates"}\n')
    res = CliRunner().invoke(cli, ["qc", str(bad), "-c", str(cfg)])
    assert res.exit_code != 0 and "bad.jsonl:1" in res.output and "source_instruction" in res.output


def test_judge_share_is_robust():
    from local_augment.engines.llm import yes_share

    assert yes_share([(" Yes", np.log(0.6)), ("No", np.log(0.2))]) == pytest.approx(0.75)
    assert yes_share([("maybe", 0.0)]) == 0.5
    assert yes_share([]) == 0.5


def test_quoted_text_with_numbers_survives_whole():
    src = 'What does the error "Payment declined (code 51)" mean?'
    assert lexical.detail_change('Instruction: What does the error "Payment declined (code 51)" '
                                 'mean?', src) is None
    assert lexical.detail_change('What does the error "Payment declined" mean?',
                                 src).startswith("lost_detail:")


def test_a_word_that_starts_a_sentence_is_not_a_name():
    """After a quote that ends a sentence, an emoji or markdown emphasis, "Your" and "Great"
    start a sentence; a brief that drops them has lost no name."""
    for text in ('He said "Stop now." Your card is fine.', "Done 😊 Great work.",
                 "**Note:** Your card is fine."):
        assert lexical.typed_details(text)["name"] == set(), text
    assert lexical.typed_details('He said "Stop now" to Sam.')["name"] == {"Sam"}
    assert lexical.typed_details("We take Visa and *Mastercard*.")["name"] == {"Visa", "Mastercard"}
    assert lexical.detail_change("Your card is fine.", 'He said "Stop now." Your card is fine.',
                                 request=False) == "lost_detail:Stop now."


def test_language_is_not_judged_against_an_unclear_source():
    # a short source with a number and a symbol: the identifier is unsure what language it is
    assert wrong_language("Please help with the following. Convert 72 °F to Celsius.",
                          "Convert 72 °F to Celsius.")[0] is None


@pytest.mark.parametrize("variant,source,changed", [
    ("Can you add a second admin to your workspace?", "Can I add a second admin to my workspace?",
     True),
    ("Provide a guide to adding a user to your workspace.", "How do I add a user to my workspace?",
     True),
    ("Do you know how to update the credit card on file?",
     "How do I update the credit card on file?", False),  # addresses the assistant: a wrapper
    ("What are the steps to reset my password?", "How do I reset my password?", False),
    ("Is my data deleted if you close your account?", "Is my data deleted if I close my account?",
     True),  # mixed, but the account the source calls mine is now the addressee's
    ("Can you check my order on your website?", "Can I check my order online?", False),
])
def test_perspective_changed(variant, source, changed):
    from local_augment.quality.lexical import perspective_changed

    assert perspective_changed(variant, source) is changed


def test_answer_openers_and_dangling_colons_are_artifacts():
    from local_augment.quality.lexical import artifact, dangling_colon

    src = "What is the difference between a list and a tuple in Python?"
    assert artifact("Here's the explanation of the difference between a list and a tuple:",
                    src).startswith("meta:")
    assert dangling_colon("To export contacts to a CSV file, use:", "How do I export contacts?")
    assert not dangling_colon("Rewrite this sentence:", "Rewrite this sentence to be shorter:")


def test_new_lexical_reasons_through_the_chain_on_a_hash_embedder():
    """The chain gives perspective_changed and artifact:dangling_colon, the latter only for a
    row without an input (one with an input may end "…this sentence:")."""
    from local_augment.config import QCConfig
    from local_augment.quality.chain import QualityChain
    from local_augment.quality.pair import Pair
    from tests.fakes import HashEmbedder

    chain = QualityChain(QCConfig(fluency=False), HashEmbedder(), lambda: None, None)
    src = "How do I export all the contacts in my address book to a CSV file?"
    pairs = [
        Pair("paraphrase", "instruction", "How can you export all the contacts in your address "
             "book to a CSV file?", src, instruction=src),
        Pair("paraphrase", "instruction", "To export all the contacts in my address book to a CSV "
             "file, use:", src, instruction=src),
        Pair("paraphrase", "instruction", "Shorten this sentence for me:", "Make this sentence "
             "shorter for me.", instruction="Make this sentence shorter for me.\n\nIt is long."),
    ]
    reasons = [v.reason for v in chain.check(pairs)]
    assert reasons[0] == "perspective_changed"
    assert reasons[1] == "artifact:dangling_colon"
    assert reasons[2] is None or not reasons[2].startswith("artifact")


def test_a_generated_variant_meets_the_generated_bar_a_supplied_pair_does_not():
    """judge_min_generated applies to a run's own candidates only: the same pair scored as a
    supplied pair (`local-augment qc`) is held to judge_min alone."""
    from local_augment.config import QCConfig
    from tests.fakes import HashEmbedder

    def judge(pairs):
        return [(0.9, 0.9)] * len(pairs)

    qc = QCConfig(fluency=False, judge="llm", judge_min=0.01, judge_min_generated=0.99999)
    chain = QualityChain(qc, HashEmbedder(), lambda: None, judge)
    src = "How do I export all the contacts in my address book to a CSV file?"
    variant = "What is the way to export every contact in my address book as a CSV file?"
    supplied, generated = chain.check([
        Pair("paraphrase", "instruction", variant, src, instruction=src),
        Pair("paraphrase", "instruction", variant, src, instruction=src, generated=True)])
    assert supplied.reason is None, supplied.scores
    p = generated.scores["equivalence"]
    assert generated.reason == f"judge_uncertain:{p:.4f}" and 0.01 <= p < 0.99999
    unset = QualityChain(QCConfig(fluency=False, judge="llm", judge_min=0.01), HashEmbedder(),
                         lambda: None, judge)
    assert unset.generated_bar == 0.01


def test_the_gate_counts_a_judge_uncertain_row_as_passed():
    """Rows above the bar fitted on people's pairs are what QC's rates describe: a strict
    generated bar does not make the gate drop a generator's survivors."""
    qc = load_config().qc
    failed = [("paraphrase", "meaning_changed:0.2")] * 40
    assert "paraphrase" in low_yield([("paraphrase", None)] * 30 + failed
                                     + [("paraphrase", "judge_rejected:0.50")] * 30, qc)
    assert low_yield([("paraphrase", None)] * 30 + failed
                     + [("paraphrase", "judge_uncertain:0.9800")] * 30, qc) == {}


def test_a_list_of_an_answer_keeps_only_what_its_source_says(chain):
    """Qwen2.5-Coder-1.5B's lists (a bench_methods run on examples/instructions.jsonl): the one
    in the source's sentences is kept; one that garbles the optional part of a regex, and one
    that invents an app, are not: a part of each is matched poorly in its source."""
    def listed(source, variant, ins):
        return Pair("outputs", "output", variant, source, instruction=ins, kind="bulleted")

    pause = ("You can pause it for up to 3 months from Billing > Subscription > Pause; you won't "
             "be charged during the pause and all your data is kept. You only need to cancel if "
             "you want to stop permanently.")
    zip_ = ("`^\\d{5}(-\\d{4})?$`\n\nIt matches exactly five digits, optionally followed by a "
            "hyphen and four more digits.")
    export = ("Go to Contacts, select the contacts you want (or use Select all), then click Export "
              "> CSV. The file downloads to your computer, and you can open it in Excel or Google "
              "Sheets or import it into another tool.")
    verdicts = chain.check([
        listed(pause, "- You can pause it for up to 3 months from Billing > Subscription > Pause."
               "\n- You won't be charged during the pause.\n- All your data is kept.\n- You only "
               "need to cancel if you want to stop permanently.",
               "Can I pause my subscription, or do I need to cancel it?"),
        listed(zip_, "- `^\\d{5}(-\\d{4})?$`\n- It matches exactly five digits.\n- Optionally "
               "followed by a hyphen.\n- Followed by four more digits.\n- Ends with an optional "
               "match of the hyphen and the digits.",
               "Write a regex that matches US ZIP codes like 12345 or 12345-6789."),
        listed(export, "- Open Contacts app\n- Select contacts you want or use Select all\n- Click "
               "Export > CSV\n- File downloads to your computer\n- Open file in Excel, Google "
               "Sheets, or import into another tool", "how do i export my contacts to a csv file?"),
    ])
    assert verdicts[0].reason is None
    assert [v.reason.split(":")[0] for v in verdicts[1:]] == ["meaning_changed"] * 2
    assert verdicts[0].scores["align_precision_low"] > verdicts[1].scores["align_precision_low"]
