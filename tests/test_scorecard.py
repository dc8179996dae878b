"""The scorecard against figures worked out by hand on a two-contract, three-category fixture."""

from __future__ import annotations

import pytest

from lib.analysis.labels import (
    LabelError,
    LabelledSet,
    contract_key,
    cuad_folder,
    label_csv,
    sample_labels,
)
from lib.analysis.scorecard import (
    ModelRun,
    Scorecard,
    build_scorecard,
    category_rows,
    compare_previous,
    said_absent,
    summary_rows,
    text_table,
    unscored_note,
)

GOVERNING = "This Agreement shall be governed by the laws of the State of New York."
NON_COMPETE = "Distributor shall not sell competing products during the term."
DELAWARE = "governed by the laws of Delaware"
AUDIT = "Auditors may examine the books of Distributor once a year."
CATS = ("Governing Law", "Non-Compete", "Audit Rights")

TEXTS = {
    "c1.txt": f"1. Supply. Widgets are delivered monthly.\n\n2. {NON_COMPETE}\n\n12. {GOVERNING}\n",
    "c2.txt": f"1. Fees are due in 30 days.\n\n7. {AUDIT}\n\n9. This deal is {DELAWARE} law.\n",
}
LABELS = LabelledSet(
    "fixture",
    CATS,
    {
        "c1.txt": {"Governing Law": [GOVERNING], "Non-Compete": [NON_COMPETE], "Audit Rights": []},
        "c2.txt": {"Governing Law": [DELAWARE], "Non-Compete": [], "Audit Rights": [AUDIT]},
    },
    TEXTS,
)

A_C1 = f"""# Contract review: c1
## Clause by clause
### Governing law — GREEN
- Found: yes — clause 12 "{GOVERNING}"
### Non-compete — RED
- Found: no — not found.
### Audit rights — YELLOW
- Found: yes — clause 9 "Purchaser may inspect records at any time of its choosing."
"""
A_C2 = f"""## Clause by clause
### Governing law — GREEN
- Found: yes — clause 9 "{DELAWARE}"
### Non-compete — GREEN
- Found: no
### Audit rights — GREEN
- Found: no
"""
B_C1 = f"""## Clause by clause
### Governing law — GREEN
- Found: yes "{GOVERNING}"
### Non-compete — RED
- Found: yes "{NON_COMPETE}"
## Missing or unusual clauses
- Audit rights: not found
"""


def card() -> Scorecard:
    return build_scorecard(
        "fixture card",
        LABELS,
        {
            "A": {
                "c1.txt": ModelRun(
                    A_C1,
                    cost_usd=0.01,
                    ttft_s=1.0,
                    tokens_per_s=10.0,
                    cache_read_tokens=0,
                    cache_write_tokens=4_000,
                ),
                "c2.txt": ModelRun(
                    A_C2, cost_usd=0.02, ttft_s=3.0, tokens_per_s=30.0, cache_read_tokens=9_000
                ),
            },
            "B": {
                "c1.txt": ModelRun(B_C1, ttft_s=0.5, tokens_per_s=50.0),
                "c2.txt": ModelRun("", ok=False),
            },
        },
    )


def test_model_a_figures_match_the_hand_count():
    a = card().models[0]
    # Governing law: TP on both; non-compete: FN on c1 (said absent); audit: FP on c1, FN on c2.
    assert (a.presence.tp, a.presence.fp, a.presence.fn) == (2, 1, 2)
    assert a.presence.precision == pytest.approx(2 / 3)
    assert a.presence.recall == pytest.approx(0.5)
    assert a.presence.f1 == pytest.approx(4 / 7)
    by = {c.category: c for c in a.categories}
    assert by["Governing Law"].presence.f1 == 1.0
    assert (by["Audit Rights"].presence.fp, by["Audit Rights"].presence.fn) == (1, 1)
    assert by["Audit Rights"].presence.f1 == 0.0
    # Four labelled clauses; quotes cover the two governing-law spans.
    assert a.right_clause_rate == pytest.approx(0.5)
    # Said "not found" for the labelled non-compete (c1) and audit clause (c2).
    assert (by["Non-Compete"].lazy, by["Audit Rights"].lazy) == (1, 1)
    assert a.laziness_rate == pytest.approx(0.5)
    # Three quotes of four words or more; the audit one is not in c1.
    assert (a.quotes, a.quotes_not_found) == (3, 1)
    assert a.not_found_rate == pytest.approx(1 / 3)
    # The invented audit quote can match nothing: one false positive, never a hit.
    assert (a.spans.tp, a.spans.fp, a.spans.fn) == (2, 1, 2)
    assert a.cost_usd == pytest.approx(0.03) and a.ttft_s == 2.0 and a.tokens_per_s == 20.0
    assert a.cache_read_tokens == 9_000 and a.cache_write_tokens == 4_000
    assert a.failed == []


def test_a_failed_run_scores_as_finding_nothing_and_is_listed():
    b = card().models[1]
    assert b.failed == ["c2.txt"]
    assert (b.presence.tp, b.presence.fp, b.presence.fn) == (2, 0, 2)
    assert b.presence.f1 == pytest.approx(2 / 3)
    assert b.laziness_rate == 0.0  # audit said absent on c1, where it is indeed absent
    assert b.ttft_s == 0.5 and b.cost_usd is None and b.cache_read_tokens is None
    assert b.cache_write_tokens is None  # not reported is not 0
    assert b.right_clause_rate == pytest.approx(0.5)


def test_round_trip_and_tables():
    original = card()
    again = Scorecard.from_dict(original.to_dict())
    assert again == original
    rows = summary_rows(original)
    assert [r["model"] for r in rows] == ["A", "B"]
    assert rows[0]["presence F1"] == pytest.approx(4 / 7)
    assert (rows[0]["cache read tokens"], rows[1]["cache read tokens"]) == (9_000, None)
    assert (rows[0]["cache write tokens"], rows[1]["cache write tokens"]) == (4_000, None)
    long = category_rows(original)
    assert {(r["model"], r["category"]) for r in long} == {(m, c) for m in "AB" for c in CATS}
    table = text_table(original)
    assert "| A | 2 | 0 | 0.67 | 0.50 | 0.57 |" in table and "| 0.0300 | 9,000 | 4,000 |" in table
    change = compare_previous(original, Scorecard.from_dict({**original.to_dict(), "models": [
        {**original.to_dict()["models"][1], "model": "A"}]}))  # fmt: skip
    assert change[0]["change"] == pytest.approx(4 / 7 - 2 / 3)
    assert change[1]["previous F1"] is None


def test_said_absent_reads_sections_and_missing_lists():
    assert said_absent(A_C1) == {"Non-Compete"}
    assert said_absent(A_C2) == {"Non-Compete", "Audit Rights"}
    assert said_absent(B_C1) == {"Audit Rights"}
    assert said_absent(None) == set()  # type: ignore[arg-type]


def test_label_csv_with_header_and_absent_categories():
    data = (
        b"contract,category,clause\n"
        b"Deals/ACME.pdf,governing law,The laws of Ohio apply.\n"
        b"Deals/ACME.pdf,Audit rights,\n"
        b"beta.txt,Governing Law,English law\n"
        b",bad,row\n"
    )
    labels = label_csv(data)
    assert labels.categories == ("Governing Law", "Audit Rights")
    assert labels.labels["Deals/ACME.pdf"] == {
        "Governing Law": ["The laws of Ohio apply."],
        "Audit Rights": [],
    }
    assert labels.labels["beta.txt"]["Audit Rights"] == []
    assert labels.skipped == ["row 4"]
    assert labels.match("acme.txt") == "Deals/ACME.pdf" and labels.match("gamma.pdf") is None
    with pytest.raises(LabelError):
        label_csv(b"\n\n")


def test_cuad_folder_layout(tmp_path):
    (tmp_path / "full_contract_txt").mkdir()
    (tmp_path / "full_contract_txt" / "ACME-EX-10.txt").write_text("The laws of Ohio apply.")
    (tmp_path / "master_clauses.csv").write_text(
        "Filename,Governing Law,Governing Law-Answer,Non-Compete,Non-Compete-Answer\n"
        "ACME-EX-10.pdf,\"['The laws of Ohio apply.']\",Ohio,[],No\n"
        "MISSING.pdf,[],,[],\n"
        "BROKEN.pdf,['unclosed,,[],\n"
    )
    labels = cuad_folder(tmp_path)
    assert labels.categories == ("Governing Law", "Non-Compete")
    assert labels.labels == {
        "ACME-EX-10.txt": {"Governing Law": ["The laws of Ohio apply."], "Non-Compete": []}
    }
    assert labels.texts["ACME-EX-10.txt"] == "The laws of Ohio apply."
    assert labels.skipped == ["MISSING.pdf", "BROKEN.pdf"]
    with pytest.raises(LabelError):
        cuad_folder(tmp_path / "full_contract_txt")


def test_cuad_folder_reads_no_file_outside_it(tmp_path):
    """A labels folder on the server (Portfolio reads one from CRS_BATCH_DIRS) must not read
    another file by a link: neither its text into a scorecard nor `/dev/zero` into memory."""
    outside = tmp_path / "outside.txt"
    outside.write_text("TOP SECRET OUTSIDE FILE")
    folder = tmp_path / "labels"
    (folder / "full_contract_txt").mkdir(parents=True)
    (folder / "full_contract_txt" / "deal.txt").symlink_to(outside)
    (folder / "full_contract_txt" / "zero.txt").symlink_to("/dev/zero")
    (folder / "master_clauses.csv").write_text("Filename,Governing Law\ndeal.pdf,[]\nzero.pdf,[]\n")
    labels = cuad_folder(folder)
    assert labels.texts == {} and labels.skipped == ["deal.pdf", "zero.pdf"]
    (folder / "master_clauses.csv").unlink()
    (folder / "master_clauses.csv").symlink_to("/dev/zero")
    with pytest.raises(LabelError):
        cuad_folder(folder)


def test_cuad_folder_matches_file_names_by_letters_and_digits(tmp_path):
    """As CUAD ships them: "MACY'S" is filed as "MACY_S", a stray quote, an "- Answer" column."""
    texts = tmp_path / "full_contract_txt"
    texts.mkdir()
    (texts / "MACY_S,INC-JOINT FILING AGREEMENT.txt").write_text("Macy's text.")
    (texts / "LECLANCHE S.A. - JDA.txt").write_text("Leclanché text.")
    (tmp_path / "master_clauses.csv").write_text(
        "Filename,Notice Period To Terminate Renewal,Notice Period To Terminate Renewal- Answer\n"
        "\"MACY'S,INC-JOINT FILING AGREEMENT.PDF'\",[],\n"
        "LECLANCHÉ S.A. - JDA.PDF,[],\n",
        encoding="utf-8",
    )
    labels = cuad_folder(tmp_path)
    assert labels.skipped == []
    assert labels.categories == ("Notice Period To Terminate Renewal",)
    assert sorted(labels.texts.values()) == ["Leclanché text.", "Macy's text."]


def test_sample_labels_cover_the_bundled_contracts():
    labels = sample_labels()
    assert len(labels.labels) == 24 and len(labels.categories) == 41
    name = next(iter(labels.labels))
    assert labels.texts[name] and contract_key(name) == name.removesuffix(".txt").lower()


def test_a_run_still_running_is_left_out_of_the_score_not_failed():
    """Scoring mid-batch counted a run still streaming as a failed run that found nothing."""
    labelled = sample_labels()
    first, second = sorted(labelled.labels)[:2]
    done = ModelRun(report="## Overall risk: LOW\n")
    card = build_scorecard(
        "mid-batch", labelled, {"m": {first: done, second: ModelRun(report="", running=True)}}
    )
    [model] = card.models
    assert model.failed == [] and model.contracts == 1 and model.running == [second]
    assert card.contracts == [first]
    assert unscored_note(card) == "1 contract still running or not run yet, not scored."
    assert unscored_note(card) in text_table(card)
    assert Scorecard.from_dict(card.to_dict()).models[0].running == [second]
    ended = build_scorecard("after", labelled, {"m": {first: done}})
    assert unscored_note(ended) == "" and "not scored" not in text_table(ended)
