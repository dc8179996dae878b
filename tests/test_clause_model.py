"""The trained clause model: plain arrays, deterministic scores, rules alone when it cannot load."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pytest

from lib.analysis.clauses.categories import CUAD_CATEGORIES
from lib.analysis.clauses.finder import (
    DATED,
    EXTRACTED,
    Finding,
    _with_date,
    candidates,
    find_clauses,
    rule_rows,
    sentence_pairs,
)
from lib.analysis.clauses.model import (
    MODEL_PATH,
    N_FEATURES,
    ClauseModel,
    QuotePlan,
    SentenceInput,
    load_model,
    read_model,
    save_model,
)
from lib.analysis.clauses.report import RULES_ONLY, write_report
from lib.analysis.clauses.segment import split_clauses
from lib.analysis.samples import all_samples, load_sample, sample_names

SAMPLE = load_sample(sample_names()[0])  # a bundled sample: left out of training
INPUTS = [
    SentenceInput(
        "This Agreement shall be governed by the laws of Texas.", "Governing Law", {}, 0.9
    ),
    SentenceInput(
        "Either party may terminate on 30 days notice.",
        None,
        {"Termination For Convenience": 1.0},
        0.5,
    ),
    SentenceInput("", None, {}, 0.0),
]


def shipped() -> ClauseModel:
    model = load_model()
    assert model is not None, "the shipped clause model did not load"
    return model


def test_the_shipped_model_is_plain_arrays_for_every_cuad_category() -> None:
    with np.load(MODEL_PATH, allow_pickle=False) as data:  # a pickle would raise here
        assert {a.dtype.kind for a in data.values()} <= {"u", "f"}
    model = read_model(MODEL_PATH)
    assert model.categories == CUAD_CATEGORIES
    assert model.weights.shape == (len(CUAD_CATEGORIES), N_FEATURES)
    assert np.all((model.threshold > 0) & (model.threshold < 1))
    low, high = model.check_band
    assert 0 <= low <= high <= 1
    assert "CC BY 4.0" in str(model.meta["licence"])


def test_the_model_scores_deterministically() -> None:
    first = read_model(MODEL_PATH).probabilities(INPUTS)
    second = read_model(MODEL_PATH).probabilities(INPUTS)
    assert first.shape == (3, len(CUAD_CATEGORIES))
    assert np.array_equal(first, second)
    governing = CUAD_CATEGORIES.index("Governing Law")
    assert first[0, governing] > first[1, governing]


def test_a_contract_the_model_never_saw_is_classified_the_same_way_twice() -> None:
    def key(text: str, model: ClauseModel) -> list[tuple]:
        found = find_clauses(text, model)
        return [
            (c, f.start, f.end, f.probability)
            for c, items in found.by_category.items()
            for f in items
        ]

    once = key(SAMPLE.text, shipped())
    assert once == key(SAMPLE.text, read_model(MODEL_PATH))
    assert any(p is not None for *_, p in once)


@pytest.mark.parametrize("sample", all_samples()[:6], ids=lambda s: s.file_name[:3])
def test_model_findings_quote_the_contract_exactly(sample) -> None:
    found = find_clauses(sample.text)
    assert found.model_used
    for items in found.by_category.values():
        for f in items:
            assert sample.text[f.start : f.end] == f.quote
            assert len(f.quote.split()) <= 150


def test_without_the_model_the_rules_run_alone_with_a_warning(tmp_path, caplog) -> None:
    broken = tmp_path / "clause_model.npz"
    broken.write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING):
        assert load_model(tmp_path / "missing.npz") is None
        assert load_model(broken) is None
    assert caplog.text.count("runs on its rules alone") == 2
    rules = find_clauses(SAMPLE.text, model=False)
    assert not rules.model_used and rules.check_band is None
    assert all(f.probability is None for items in rules.by_category.values() for f in items)
    assert rules.present("Governing Law")


def test_the_report_says_when_the_rules_ran_alone(monkeypatch) -> None:
    monkeypatch.setattr("lib.analysis.clauses.finder.load_model", lambda: None)
    report = "".join(write_report("x", SAMPLE.text))
    assert RULES_ONLY in report
    assert "## Check these" not in report


def test_the_report_shows_how_sure_the_finder_is_and_what_to_check() -> None:
    model = shipped()
    report = "".join(write_report("x", SAMPLE.text))
    assert "model 0." in report or "model 1." in report
    checks = report.split("## Check these\n", 1)[1].split("\n\n", 1)[0]
    assert f"below {model.check_band[1]:.2f}" in checks
    found = find_clauses(SAMPLE.text)
    borderline = [
        f for items in found.by_category.values() for f in items[:2] if not found.confident(f)
    ]
    for f in borderline:
        assert f"model {f.probability:.2f})" in checks


def test_a_saved_model_reads_back_as_it_was(tmp_path) -> None:
    rng = np.random.default_rng(0)
    model = ClauseModel(
        ("A", "B"),
        rng.normal(size=(2, N_FEATURES)).astype(np.float16).astype(np.float32),
        np.array([-1.0, 0.5], dtype=np.float32),
        np.array([0.3, 0.6], dtype=np.float32),
        (0.2, 0.7),
        {"licence": "CC BY 4.0"},
        (QuotePlan(1, "sentence", 0.0), QuotePlan(5, "merge", 1.5)),
        ("model", "either"),
    )
    path = tmp_path / "m.npz"
    save_model(path, model)
    again = read_model(path)
    assert again.categories == ("A", "B") and again.check_band == (0.2, 0.7)
    assert again.plans == model.plans
    assert again.deciders == ("model", "either")
    assert np.array_equal(again.weights, model.weights)
    assert np.array_equal(again.probabilities(INPUTS), model.probabilities(INPUTS))
    # A plan this version cannot follow is refused, so the finder falls back to its rules.
    save_model(path, replace(model, plans=(QuotePlan(1, "paragraph"), QuotePlan())))
    with pytest.raises(ValueError):
        read_model(path)
    save_model(path, replace(model, deciders=("model", "vote")))
    with pytest.raises(ValueError):
        read_model(path)


def test_a_category_the_rules_decide_is_found_where_a_rule_matches() -> None:
    """A decider chosen on training folds: "rules" reports a rule match the model scores below
    its threshold (showing the model's own score), and nothing the rules do not match."""
    text = SAMPLE.text
    model = shipped()
    category = "Governing Law"
    column = model.categories.index(category)
    found = candidates(text, sentence_pairs(split_clauses(text)))
    ruled = rule_rows(found, category)
    assert ruled.any()
    strict = replace(
        model,
        threshold=np.where(np.arange(len(model.categories)) == column, 1.0, model.threshold).astype(
            np.float32
        ),
    )
    assert not find_clauses(text, strict).get(category)  # no sentence scores 1.0
    deciders = tuple("rules" if j == column else "model" for j in range(len(model.categories)))
    quotes = find_clauses(text, replace(strict, deciders=deciders)).get(category)
    assert quotes
    starts = {c.sentence.start for c, r in zip(found, ruled, strict=True) if r}
    assert all(f.start in starts for f in quotes)
    assert all(f.probability is not None and f.probability < 1.0 for f in quotes)


def _findings_with(plan: QuotePlan, category: str, text: str = SAMPLE.text):
    model = shipped()
    column = model.categories.index(category)
    plans = tuple(plan if j == column else model.plan(j) for j in range(len(model.categories)))
    return find_clauses(text, replace(model, plans=plans)).get(category)


def test_the_finder_quotes_each_category_as_its_plan_says() -> None:
    """How many quotes and how they are cut is the model's per-category plan, not a constant."""
    model = shipped()
    assert len(model.plans) == len(model.categories)
    wide = {c: _findings_with(QuotePlan(6, "run"), c) for c in model.categories}
    planned = set(model.categories) - EXTRACTED - DATED  # names and dates are extracted
    category = next(c for c, found in wide.items() if len(found) >= 2 and c in planned)
    assert len(_findings_with(QuotePlan(1, "run"), category)) == 1
    # Quotes after the first must clear the plan's multiple of the threshold.
    assert len(_findings_with(QuotePlan(6, "run", 1e6), category)) == 1
    sentences = {
        c.sentence.text for c in candidates(SAMPLE.text, sentence_pairs(split_clauses(SAMPLE.text)))
    }
    alone = _findings_with(QuotePlan(6, "sentence"), category)
    assert alone and all(f.quote in sentences for f in alone)
    assert [f.probability for f in alone] == sorted((f.probability for f in alone), reverse=True)


def test_a_merge_split_plan_quotes_the_passage_then_each_of_its_sentences() -> None:
    """Annotators often mark the sentences of one clause as separate spans, sometimes the whole
    clause: "merge+split" quotes the passage "merge" would, then each sentence in it on its own
    (the plan's count caps passages); a one-sentence passage is quoted once."""
    category = "Anti-Assignment"
    # The first sample whose assignment passage holds two sentences or more (which one does
    # depends on the weights: a neighbour joins a passage when it scores half the threshold).
    for name in sample_names():
        text = load_sample(name).text
        passages = _findings_with(QuotePlan(2, "merge"), category, text)
        both = _findings_with(QuotePlan(2, "merge+split"), category, text)
        if len(both) > len(passages):
            break
    else:
        pytest.fail("no sample's assignment passage holds two sentences")
    found = candidates(text, sentence_pairs(split_clauses(text)))
    sentences = {c.sentence.text for c in found}
    assert both[0] == passages[0]
    split = [f for f in both if f not in passages]
    assert split and all(f.quote in sentences for f in split)
    # Each sentence inside a passage of two or more is quoted, and no other text.
    inside = [
        [c.sentence.start for c in found if p.start <= c.sentence.start < p.end] for p in passages
    ]
    assert {f.start for f in split} == {s for starts in inside if len(starts) > 1 for s in starts}
    assert [f.quote for f in both if f in passages] == [f.quote for f in passages]


def test_the_report_shows_a_passage_once_not_again_sentence_by_sentence() -> None:
    from lib.analysis.clauses.finder import Findings
    from lib.analysis.clauses.report import shown

    def at(start: int, end: int) -> Finding:
        return Finding("Insurance", None, "x" * (end - start), start, end, 0.0, 0.5)

    passage, sentence, other = at(0, 100), at(0, 50), at(200, 300)
    findings = Findings({"Insurance": [passage, sentence, other]})
    assert shown(findings, "Insurance") == [passage, other]


def test_effective_date_is_quoted_as_the_date_annotators_mark_and_in_its_sentence() -> None:
    text = (
        "SUPPLY AGREEMENT\n\nThis Supply Agreement is made by and between Acme Inc. and Beta LLC."
        '\n\n1. Term. This Agreement shall be effective as of June 21, 1999 (the "Effective Date")'
        " and continue for two years.\n\n2. Governing Law. This Agreement is governed by the laws "
        "of the State of New York.\n"
    )
    found = find_clauses(text).get("Effective Date")
    quotes = [f.quote for f in found]
    assert "June 21, 1999" in quotes
    assert any(q.startswith("This Agreement shall be effective") for q in quotes)
    assert all(text[f.start : f.end] == f.quote for f in found)


def _found_with_plan(text: str, category: str, plan: QuotePlan) -> list[Finding]:
    """The shipped model's findings for one category when that category follows `plan`."""
    model = shipped()
    column = model.categories.index(category)
    plans = tuple(plan if j == column else p for j, p in enumerate(model.plans))
    return find_clauses(text, replace(model, plans=plans)).get(category)


def test_an_opening_that_only_dates_the_agreement_gives_the_effective_date_alone() -> None:
    """Annotators mark the date, not the opening sentence, when the opening says "made effective
    as of"; a term clause that only refers to it ("shall commence on the Effective Date") is
    the term's passage, not the effective date's."""
    text = (
        "SUPPLY AGREEMENT\n\nThis Supply Agreement is entered into on October 1, 2019 and is "
        'made effective as of November 1, 2019 (the "Effective Date") by and between Acme Inc. '
        "and Beta LLC.\n\n1. Supply. Acme shall supply widgets to Beta at the prices in "
        "Schedule A.\n\n2. Term. This Agreement shall commence on the Effective Date and "
        "continue for two years.\n"
    )
    found = _found_with_plan(text, "Effective Date", QuotePlan(6, "run"))
    quotes = [f.quote for f in found]
    # The effective date, by its role, not the signing date before it.
    assert quotes[0] == "November 1, 2019"
    assert not any(q.startswith("This Supply Agreement is entered into") for q in quotes)
    assert not any("shall commence on the Effective Date" in q for q in quotes)
    assert all(text[f.start : f.end] == f.quote for f in found)


def test_the_date_quoted_is_the_one_the_sentence_names_effective() -> None:
    sentence = (
        "This Agreement is made as of March 14, 2012 but effective as of March 1, 2012 by and "
        "between Bizzingo, Inc. and Joe Theismann."
    )
    finding = Finding("Effective Date", None, sentence, 10, 10 + len(sentence), 0.0, 0.5)
    (date,) = _with_date(finding)
    assert date.quote == "March 1, 2012"
    assert date.start == 10 + sentence.index("March 1, 2012")
    named = 'Dated June 2, 2020. Signed May 1, 2020 (the "Effective Date") by the parties.'
    (date,) = _with_date(replace(finding, quote=named, end=10 + len(named)))
    assert date.quote == "May 1, 2020"


def test_an_expiration_quote_stops_before_the_renewal_sentence() -> None:
    """The renewal sentence after the term is the renewal term's passage: a quote merged over
    scored sentences does not run on into it."""
    text = (
        "SUPPLY AGREEMENT\n\nThis Supply Agreement is made by and between Acme Inc. and Beta LLC."
        "\n\n1. Supply. Acme shall supply widgets to Beta at the prices in Schedule A.\n\n"
        "2. Term. This Agreement shall remain in effect for five (5) years from the Effective "
        "Date. Thereafter this Agreement shall renew automatically for successive one (1) year "
        "terms unless either party gives notice of non-renewal.\n\n3. Governing Law. This "
        "Agreement is governed by the laws of the State of New York.\n"
    )
    found = _found_with_plan(text, "Expiration Date", QuotePlan(6, "merge"))
    assert found[0].quote == (
        "This Agreement shall remain in effect for five (5) years from the Effective Date."
    )
    assert not any("renew" in f.quote and "five (5) years" in f.quote for f in found)


def test_key_categories_thresholds_lean_to_recall_non_key_to_presence_f1() -> None:
    """A missed key clause costs more than a false alarm: on the same out-of-fold scores, a key
    category's threshold is set low enough to catch a weakly scored clause, a non-key one's not."""
    pytest.importorskip("sklearn")  # training tools only
    from types import SimpleNamespace

    from devtools.train_clauses import choose_thresholds

    key, other = "Governing Law", "Most Favored Nation"
    # Four labelled contracts score 0.9, one 0.11; two unlabelled score 0.11, three 0.05.
    best = [0.9] * 4 + [0.11] + [0.11] * 2 + [0.05] * 3
    real = [True] * 5 + [False] * 5
    contracts = [SimpleNamespace(labels={key: ["x"] if r else [], other: ["x"] if r else []})
                 for r in real]  # fmt: skip
    oof = []
    for score in best:
        row = np.zeros((1, len(CUAD_CATEGORIES)), dtype=np.float32)
        row[0, CUAD_CATEGORIES.index(key)] = row[0, CUAD_CATEGORIES.index(other)] = score
        oof.append(row)
    chosen = choose_thresholds(contracts, oof)
    assert chosen[CUAD_CATEGORIES.index(key)] <= 0.11 < chosen[CUAD_CATEGORIES.index(other)]


def test_quote_plans_trade_stray_quotes_for_hits_but_keep_the_right_clause() -> None:
    """Chosen on out-of-fold counts: fewer quotes win when they lose no hit, a quote that is the
    right clause is not given up for precision, and a category's plan follows its own counts."""
    pytest.importorskip("sklearn")  # training tools only
    from devtools.train_clauses import choose_plans

    width = len(CUAD_CATEGORIES)
    law, cap = CUAD_CATEGORIES.index("Governing Law"), CUAD_CATEGORIES.index("Cap On Liability")
    one, three = QuotePlan(1, "sentence"), QuotePlan(3, "run")
    counts = {one: np.zeros((2, width, 3), np.int32), three: np.zeros((2, width, 3), np.int32)}
    # Governing law: one quote matches as many spans as three, with no stray quotes.
    counts[one][:, law] = (1, 0, 1)
    counts[three][:, law] = (1, 2, 1)
    # Cap on liability: one quote has fewer strays but loses the right clause on one contract.
    counts[one][:, cap] = [(1, 0, 0), (1, 0, 1)]
    counts[three][:, cap] = [(1, 2, 1), (1, 2, 1)]
    plans = choose_plans(counts, [0, 1])
    assert plans[law] == one
    assert plans[cap] == three
    assert choose_plans(counts, [1])[cap] == one  # on contract 1 alone nothing is lost


def test_the_span_loss_table_says_why_each_quote_and_span_missed() -> None:
    pytest.importorskip("sklearn")  # training tools only
    from types import SimpleNamespace

    from devtools.train_clauses import span_losses
    from lib.analysis.clauses.finder import Finding, Findings

    law = "This Agreement is governed by the laws of Texas."
    notice = "Notices go to the addresses above."
    text = f"{law} Each party pays its own costs and expenses of every kind. {notice}"
    contract = SimpleNamespace(text=text, labels={"Governing Law": [law, "Texas"]})

    def quote(start: int, end: int) -> Finding:
        return Finding("Governing Law", None, text[start:end], start, end, 1.0, 0.5)

    found = Findings(
        {
            "Governing Law": [
                quote(0, len(law)),
                quote(0, text.index(notice) - 1),
                quote(text.index("Notices"), len(text)),
            ]
        }
    )
    row = span_losses(contract, "Governing Law", found)
    assert row["spans"] == 2 and row["matched"] == 1
    assert row["boundary"] == 1  # "Texas" lies inside quotes that are far longer
    assert row["quotes"] == 3 and row["stray"] == 2
    assert row["long"] == 1 and row["wrong"] == 1
    unlabelled = SimpleNamespace(text=text, labels={"Governing Law": []})
    assert span_losses(unlabelled, "Governing Law", found)["unlabelled"] == 3
