"""The built-in playbook checker: verdicts for the bundled playbooks, candidates for a team's."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lib.analysis.clauses.finder import find_clauses
from lib.analysis.playbook.checker import EDITED, MODEL_NEEDED, NO_RULE_FIRED, check_playbook
from lib.analysis.playbook.format import Verdict
from lib.analysis.playbook.loader import BUNDLED_DIR, bundled_playbooks, parse_playbook
from lib.analysis.playbook.nda_model import WEIGHTS_FILE, bundled_model, load_model
from lib.analysis.playbook.passages import split_passages
from lib.analysis.playbook.span_features import DIM

NDA = """MUTUAL NON-DISCLOSURE AGREEMENT

1. Confidential Information. "Confidential Information" means all information disclosed by
the Disclosing Party, whether in writing, orally or visually, including business, financial and
technical information.

2. Use. The Receiving Party shall use the Confidential Information solely for the purpose of
evaluating a possible business relationship between the parties.

3. Disclosure. The Receiving Party may disclose Confidential Information to its employees who
need to know it for that purpose and who are bound by obligations of confidentiality.

4. Return of Materials. Upon termination of this Agreement or upon the Disclosing Party's written
request, the Receiving Party shall promptly return or destroy all Confidential Information and
all copies thereof.

5. Governing Law. This Agreement is governed by the laws of the State of Delaware.
"""

COMMERCIAL_BOOK = bundled_playbooks()["commercial"]
COMMERCIAL = """SUPPLY AGREEMENT

7. Indemnity. The Supplier shall indemnify and hold harmless the Customer against all claims.

8. Assignment. This Agreement may not be assigned by either party except with the prior written
consent of the other party.

9. Governing Law. This Agreement shall be governed by the laws of the State of New York.
"""


def test_the_nda_checker_finds_the_deciding_passage_and_its_verdict():
    result = check_playbook(NDA, bundled_playbooks()["nda"])
    by_id = {r.position_id: r for r in result.results}
    returned = by_id["nda-16"]
    # The deciding passage ranks first (its verdict is the model's weak spot: see the model card).
    assert "return or destroy" in returned.evidence[0].text
    assert returned.evidence[0].clause == "4."
    assert NDA[returned.evidence[0].start : returned.evidence[0].end] == returned.evidence[0].text
    employees = by_id["nda-5"]
    assert employees.verdict is Verdict.MEETS
    assert "employees" in employees.evidence[0].text
    assert by_id["nda-18"].verdict is Verdict.NOT_ADDRESSED  # nothing on solicitation
    assert abs(sum(returned.probabilities.values()) - 1) < 1e-9


def test_a_not_addressed_nda_position_quoting_a_passage_does_not_claim_none_addresses_it():
    """nda-16 read "No passage addresses this position" over the return-or-destroy clause it
    quoted: the passage is the closest candidate to check, and the reason says so."""
    results = check_playbook(NDA, bundled_playbooks()["nda"]).results
    unaddressed = [r for r in results if r.verdict is Verdict.NOT_ADDRESSED]
    returned = next(r for r in unaddressed if r.position_id == "nda-16")
    assert "return or destroy" in returned.evidence[0].text
    assert returned.candidates_only
    for r in unaddressed:
        assert r.candidates_only == bool(r.evidence)
        if r.evidence:
            assert "No passage addresses" not in r.reason
            assert "closest is quoted to check" in r.reason
        else:
            assert r.reason.startswith("No passage addresses this position")


def test_the_nda_check_does_not_run_the_clause_finder(monkeypatch: pytest.MonkeyPatch):
    # The NDA model decides from the passages alone; the clause finder is most of a long NDA's
    # check time, so it runs only for positions that read its findings.
    import lib.analysis.playbook.checker as checker

    def refuse(text: str) -> None:
        raise AssertionError("the clause finder ran for an NDA check")

    monkeypatch.setattr(checker, "find_clauses", refuse)
    result = check_playbook(NDA, bundled_playbooks()["nda"])
    assert all(r.verdict is not None for r in result.results)
    with pytest.raises(AssertionError):
        check_playbook(COMMERCIAL, bundled_playbooks()["commercial"])


def test_the_commercial_rules_decide_from_the_clause_finder_and_red_flags():
    result = check_playbook(COMMERCIAL, bundled_playbooks()["commercial"])
    by_id = {r.position_id: r for r in result.results}
    assert by_id["indemnity"].verdict is Verdict.DEVIATES
    assert "One-sided indemnity" in by_id["indemnity"].reason
    assert by_id["assignment"].verdict is Verdict.MEETS
    assert "may not be assigned" in by_id["assignment"].evidence[0].text
    assert by_id["governing-law"].verdict is Verdict.MEETS
    assert by_id["insurance"].verdict is Verdict.NOT_ADDRESSED
    assert by_id["exclusivity"].verdict is Verdict.MEETS  # silence meets "no exclusivity"
    assert "check by hand" in by_id["exclusivity"].reason
    assert result.summary().endswith("— 1 high-severity deviation")


@pytest.mark.parametrize(
    ("sample", "position_id"),
    [("02_", "non-compete"), ("15_", "exclusivity"), ("18_", "mfn")],
)
def test_a_borderline_finding_alone_is_quoted_to_check_and_never_meets(
    sample: str, position_id: str
):
    """MANAKOA's 24-month non-compete (a model score of 0.08), ArcGroup's exclusive grant and
    ON4's most-favoured pricing read "meets … wording found" on quotes the clause report itself
    puts under "Check these"."""
    (path,) = (BUNDLED_DIR.parent.parent / "cuad_sample" / "contracts").glob(f"{sample}*.txt")
    text = path.read_text(encoding="utf-8")
    findings = find_clauses(text)
    results = {r.position_id: r for r in check_playbook(text, COMMERCIAL_BOOK).results}
    for r in results.values():
        if r.verdict is Verdict.MEETS and r.evidence:
            position = COMMERCIAL_BOOK.position(r.position_id)
            assert position is not None
            sure = {
                (f.start, f.end) for f in findings.get(position.category) if findings.confident(f)
            }
            assert {(e.start, e.end) for e in r.evidence} <= sure, r.position_id
    borderline = results[position_id]
    assert borderline.verdict is Verdict.NOT_ADDRESSED
    assert borderline.candidates_only
    assert "Only borderline" in borderline.reason and "check by hand" in borderline.reason


RULES_OF_ABSENCE = """
[playbook]
id = "team"
name = "Team"
checker = "clause-rules"

[[positions]]
id = "cap"
title = "Liability cap"
position = "Liability is capped."
meets = "A cap."
deviates = "No cap."
severity = "high"
category = "Cap On Liability"
deviates_if = ["No liability cap found"]

[[positions]]
id = "law"
title = "Governing law"
position = "A law is chosen."
meets = "A law."
deviates = "None."
deviates_if = ["No governing law found"]

[[positions]]
id = "exclusive"
title = "No exclusivity"
position = "Nobody is tied to the other."
meets = "No exclusivity."
deviates = "Exclusivity."
deviates_if = ["Exclusivity"]
"""


def test_a_rule_of_absence_and_a_rule_without_a_category_decide_a_deviation():
    """ "No liability cap found" never fired (it has no finding to quote), so a high-severity cap
    position on a contract without a cap read "not addressed — 0 high-severity deviations"; and
    a position naming a rule but no category had its rule ignored."""
    playbook = parse_playbook(RULES_OF_ABSENCE)
    exclusive = (
        "10. Exclusivity. The Customer shall purchase the Products exclusively from the Supplier.\n"
    )
    result = check_playbook(COMMERCIAL + exclusive, playbook)
    cap, law, tied = result.results
    assert cap.verdict is Verdict.DEVIATES and cap.evidence == ()
    assert cap.reason.startswith("No liability cap found: ")
    assert result.summary().endswith("— 1 high-severity deviation")
    assert law.verdict is None and law.reason == NO_RULE_FIRED  # New York law is chosen
    assert tied.verdict is Verdict.DEVIATES
    assert "exclusively" in tied.evidence[0].text
    silent = check_playbook("This Agreement is made between A and B.", playbook).results
    assert [r.verdict for r in silent] == [Verdict.DEVIATES, Verdict.DEVIATES, None]
    assert silent[2].reason == NO_RULE_FIRED


def test_a_teams_copy_naming_red_flag_rules_but_no_checker_is_decided_like_the_bundled_one():
    bundled = bundled_playbooks()["commercial"]
    text = (BUNDLED_DIR / "commercial.toml").read_text(encoding="utf-8")
    team = parse_playbook(text.replace('checker = "clause-rules"\n', "").replace(
        'id = "commercial"', 'id = "team"'))  # fmt: skip
    ours, theirs = check_playbook(COMMERCIAL, team), check_playbook(COMMERCIAL, bundled)
    assert [r.verdict for r in ours.results] == [r.verdict for r in theirs.results]
    assert "need a model" not in ours.summary()


def test_a_teams_own_position_gets_candidate_evidence_and_no_guessed_verdict():
    team = parse_playbook(
        '[playbook]\nid = "team"\nname = "Team"\n[[positions]]\nid = "law"\ntitle = "Law"\n'
        'position = "The agreement is governed by Delaware law."\nmeets = "Delaware law."\n'
        'deviates = "Any other governing law."\ncategory = "Governing Law"\n'
        '[[positions]]\nid = "moon"\ntitle = "Moon"\nposition = "Lunar xyzzy rights."\n'
        'meets = "Xyzzy."\ndeviates = "Quux."\n'
    )
    result = check_playbook(NDA, team)
    law, moon = result.results
    assert law.verdict is None and law.reason == MODEL_NEEDED
    assert "laws of the State of Delaware" in law.evidence[0].text
    assert moon.verdict is None and not moon.evidence and "model is needed" in moon.reason
    assert "2 need a model" in result.summary()


def test_an_edited_nda_position_gets_evidence_not_the_bundled_verdict():
    # The model learnt ContractNLI's sentence for nda-5 ("may share with employees"); a team that
    # turns it into its opposite must not get the bundled verdict under the new words.
    nda = bundled_playbooks()["nda"]
    opposite = "The Receiving Party shall not share Confidential Information with anyone."
    reworded = " ".join(nda.position("nda-5").position.split()).replace(" ", "  ", 1)

    def with_nda5(sentence: str):
        positions = tuple(
            dataclasses.replace(p, position=sentence) if p.id == "nda-5" else p
            for p in nda.positions
        )
        return dataclasses.replace(nda, positions=positions)

    edited = {r.position_id: r for r in check_playbook(NDA, with_nda5(opposite)).results}
    assert edited["nda-5"].verdict is None and edited["nda-5"].reason == EDITED
    assert edited["nda-5"].evidence and not edited["nda-5"].probabilities
    assert edited["nda-1"].verdict is not None  # the others are still decided
    spaced = {r.position_id: r for r in check_playbook(NDA, with_nda5(reworded)).results}
    assert spaced["nda-5"].verdict is Verdict.MEETS  # spacing alone is no edit


def test_an_audit_at_any_time_deviates_from_the_commercial_audit_position():
    book = bundled_playbooks()["commercial"]
    open_audit = COMMERCIAL + (
        "\n10. Audit. The Customer and its auditors may audit the Supplier's books, records and "
        "premises at any time, without notice, as often as the Customer wishes.\n"
    )
    limited = COMMERCIAL + (
        "\n10. Audit. The Customer may audit the Supplier's books and records on thirty days' "
        "written notice, during business hours, no more than once in any calendar year.\n"
    )
    audit = {r.position_id: r for r in check_playbook(open_audit, book).results}["audit"]
    assert audit.verdict is Verdict.DEVIATES and "at any time" in audit.evidence[0].text
    assert "Audit at any time or without notice" in audit.reason
    fair = {r.position_id: r for r in check_playbook(limited, book).results}["audit"]
    assert fair.verdict is Verdict.MEETS


def test_odd_text_never_raises():
    for text in ("", "   ", "\x00\x01", "a" * 5000, "1.\n(a)\n(b)\n"):
        result = check_playbook(text, bundled_playbooks()["nda"])
        assert len(result.results) == 17


def test_passages_are_exact_substrings_and_pages_are_known():
    text = NDA + "\n\n" + COMMERCIAL
    page_starts = [0, len(NDA) + 2]
    passages = split_passages(text, page_starts)
    assert all(text[p.start : p.end] == p.text for p in passages)
    assert {p.page for p in passages} == {1, 2}
    # A clause heading stands apart from the sentence it introduces.
    assert any(p.text == "SUPPLY AGREEMENT" for p in passages)


def test_an_inline_list_is_cut_per_item_and_the_clause_number_is_left_out():
    # ContractNLI's annotators took each item of an inline list as a unit of evidence, and a
    # clause number as a unit of its own: cut alike, an upload's passages match what the model
    # was trained to rank (evidence mAP on the app's passages 0.605 -> 0.628).
    text = (
        "3.4 Confidential Information does not include information which (i) is or becomes "
        "public, (ii) was known to the Recipient before, or (iii) is independently developed, "
        "as set out in paragraph (b) of this clause.\n"
    )
    passages = split_passages(text)
    assert [p.text for p in passages] == [
        "Confidential Information does not include information which",
        "(i) is or becomes public,",
        "(ii) was known to the Recipient before, or",
        "(iii) is independently developed, as set out in paragraph (b) of this clause.",
    ]
    assert {p.clause for p in passages} == {"3.4"}
    assert all(text[p.start : p.end] == p.text for p in passages)


def test_the_shipped_weights_are_plain_arrays_for_every_nda_position():
    model = bundled_model()
    nda_ids = {p.id for p in bundled_playbooks()["nda"].positions}
    assert set(model.evidence) == nda_ids
    # Plain arrays, readable with pickles refused: nothing in the file can run code.
    with np.load(WEIGHTS_FILE, allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
    # A column per position, and one for any position's evidence.
    assert model.evidence_weights.shape == (DIM, len(nda_ids) + 1)
    assert model.verdict_weights.shape == (DIM, 3)
    # Keywords learnt per position, and the second stage's trees, travel with the model.
    assert len(model.keywords) == len(nda_ids) and all(model.keywords)
    assert "destroy" in model.keywords[model.evidence["nda-16"]]
    assert model.ranking.roots.size and model.ranking.leaf.any()
    assert WEIGHTS_FILE.stat().st_size < 5_000_000


def test_the_check_is_deterministic_and_survives_a_save_and_load(tmp_path):
    model = bundled_model()
    texts = [p.text for p in split_passages(NDA)]
    copy = tmp_path / "copy.npz"
    model.save(copy)
    assert load_model(copy).check(texts) == model.check(texts) == model.check(texts)


def test_a_pickled_weights_file_is_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, format=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):
        load_model(bad)


def test_a_weights_file_whose_trees_loop_or_point_outside_is_refused(tmp_path):
    model = bundled_model()
    trees = model.ranking
    # A child pointing back at its tree's root would walk forever; one past the end would crash.
    looping = dataclasses.replace(trees, left=np.where(trees.leaf, 0, trees.roots[0]))
    outside = dataclasses.replace(trees, right=np.where(trees.leaf, 0, len(trees.leaf)))
    for bad in (looping, outside):
        path = tmp_path / "bad.npz"
        dataclasses.replace(model, ranking=bad).save(path)
        with pytest.raises(ValueError):
            load_model(path)
