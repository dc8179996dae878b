"""Playbook files: the bundled two, and bad files refused with every problem named."""

from __future__ import annotations

import pytest

from lib.analysis.playbook.format import Severity, Verdict
from lib.analysis.playbook.loader import (
    MAX_BYTES,
    MAX_POSITIONS,
    PlaybookError,
    bundled_playbooks,
    dump_playbook,
    load_playbook,
    parse_playbook,
    resolve_playbook,
)

CONTRACTNLI_IDS = {f"nda-{n}" for n in range(1, 21)} - {"nda-6", "nda-9", "nda-14"}

GOOD = """
[playbook]
id = "team"
name = "Our positions"

[[positions]]
id = "cap"
title = "Liability cap"
position = "Liability is capped at twelve months' fees."
meets = "A cap of twelve months' fees or less."
deviates = "No cap, or a higher one."
severity = "high"
category = "cap on liability"
fallback = "Each party's liability is capped at the fees paid in the preceding twelve months."
"""


def position(i: int, pid: str | None = None) -> str:
    return (
        f'[[positions]]\nid = "{pid or f"p{i}"}"\ntitle = "T{i}"\nposition = "P{i}"\n'
        f'meets = "M"\ndeviates = "D"\n'
    )


def test_the_bundled_nda_playbook_holds_contractnlis_17_positions_with_attribution():
    nda = bundled_playbooks()["nda"]
    assert {p.id for p in nda.positions} == CONTRACTNLI_IDS
    assert "CC BY 4.0" in nda.attribution and "ContractNLI" in nda.attribution
    assert all(p.fallback for p in nda.positions)


def test_the_bundled_commercial_playbook_is_built_on_clause_finder_categories():
    commercial = bundled_playbooks()["commercial"]
    ids = {p.id for p in commercial.positions}
    assert {"liability-cap", "indemnity", "termination-convenience", "assignment"} <= ids
    assert {"governing-law", "auto-renewal", "exclusivity", "audit", "insurance"} <= ids
    assert all(p.category and p.fallback for p in commercial.positions)


def test_a_good_file_reads_with_its_category_normalised():
    book = parse_playbook(GOOD)
    (cap,) = book.positions
    assert cap.category == "Cap On Liability"
    assert cap.severity is Severity.HIGH and cap.when_absent is Verdict.NOT_ADDRESSED


def test_every_problem_is_named_with_its_entry():
    bad = (
        '[playbook]\nid = "x"\nname = "X"\n'
        + position(1, "dup")
        + position(2, "dup")
        + '[[positions]]\nid = "cap"\ntitle = "Cap"\nposition = "P"\nmeets = "M"\n'
        + 'deviates = "D"\ncategory = "Liabilty cap"\nseverity = "urgent"\n'
        + '[[positions]]\nid = "short"\ntitle = "Short"\nposition = "P"\n'
        + '[[positions]]\nid = "typo"\ntitle = "T"\nposition = "P"\nmeets = "M"\n'
        + 'deviates = "D"\nfalback = "x"\n'
    )
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(bad, "team.toml")
    problems = "\n".join(caught.value.problems)
    assert "position 2 (id 'dup'): duplicate id, already used by position 1" in problems
    assert "position 3 (id 'cap'): unknown category 'Liabilty cap'" in problems
    assert "position 3 (id 'cap'): severity must be low, medium or high" in problems
    assert "position 4 (id 'short'): missing field 'meets'" in problems
    assert "position 4 (id 'short'): missing field 'deviates'" in problems
    assert "position 5 (id 'typo'): unknown field 'falback'" in problems
    assert str(caught.value).startswith("team.toml is not a usable playbook")


def test_a_misspelt_red_flag_rule_is_refused_and_a_known_one_is_read_in_its_own_case():
    # A misspelt rule never fires, so a deviation it was meant to catch would pass as "meets".
    head = '[playbook]\nid = "x"\nname = "X"\n[[positions]]\nid = "cap"\ntitle = "Cap"\n'
    body = 'position = "P"\nmeets = "M"\ndeviates = "D"\ncategory = "Cap On Liability"\n'
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(head + body + 'deviates_if = ["Uncapped liabilty"]\n')
    (problem,) = caught.value.problems
    assert problem.startswith("position 1 (id 'cap'): deviates_if names no red-flag rule")
    assert "'Uncapped liabilty'" in problem and "'Uncapped liability'" in problem
    (cap,) = parse_playbook(head + body + 'deviates_if = ["UNCAPPED LIABILITY"]\n').positions
    assert cap.deviates_if == ("Uncapped liability",)


def test_more_than_200_positions_are_refused():
    text = '[playbook]\nid = "x"\nname = "X"\n' + "".join(
        position(i) for i in range(MAX_POSITIONS + 1)
    )
    with pytest.raises(PlaybookError, match=f"at most {MAX_POSITIONS}"):
        parse_playbook(text)
    parse_playbook('[playbook]\nid = "x"\nname = "X"\n' + "".join(
        position(i) for i in range(MAX_POSITIONS)
    ))  # fmt: skip


def test_a_file_over_1_mb_is_refused_before_parsing(tmp_path):
    big = GOOD + "# " + "x" * MAX_BYTES + "\n"
    with pytest.raises(PlaybookError, match="over 1 MB"):
        parse_playbook(big)
    path = tmp_path / "big.toml"
    path.write_text(big)
    with pytest.raises(PlaybookError, match="over 1 MB"):
        load_playbook(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[playbook\nid=1", "not valid TOML"),
        ('[playbook]\nid = "x"\nname = "X"\n', "no positions"),
        ('[[positions]]\nid = "a"\n', "missing the [playbook] table"),
        ('[playbook]\nid = "has space"\nname = "X"\n' + position(1), "'id' is missing"),
        ('[playbook]\nid = "x"\nname = "X"\n' + position(1, "a b"), "id may hold only"),
        ('[playbook]\nid = "x"\nname = "X"\n[[positions]]\nid = 5\n', "'id' must be text"),
        ('[playbook]\nid = "x"\nname = "X"\n' + position(1) + 'severity = ["high"]\n', "severity"),
        ('[playbook]\nid = "x"\nname = "X"\n' + position(1) + "severity = {a = 1}\n", "severity"),
        ('[playbook]\nid = "x"\nname = "X"\n' + position(1) + "when_absent = [1]\n", "when_absent"),
    ],
)
def test_broken_files_say_what_is_wrong(text, expected):
    with pytest.raises(PlaybookError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        parse_playbook(text)


def test_a_misspelt_checker_is_refused_naming_the_checkers_there_are():
    text = GOOD.replace(
        'name = "Our positions"', 'name = "Our positions"\nchecker = "clause_rules"'
    )
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text)
    (problem,) = caught.value.problems
    assert problem.startswith("[playbook]: checker must be 'contractnli' or 'clause-rules'")
    assert problem.endswith("not 'clause_rules'")
    assert parse_playbook(text.replace("clause_rules", "clause-rules")).checker == "clause-rules"


def test_red_flag_rules_without_a_checker_are_decided_by_the_clause_rules():
    # `deviates_if` is read by the clause rules alone: a file that names rules means them to
    # decide, whether or not it names the checker too.
    assert parse_playbook(GOOD).checker == ""
    rules = parse_playbook(GOOD + 'deviates_if = ["Uncapped liability"]\n')
    assert rules.checker == "clause-rules"
    assert parse_playbook(dump_playbook(rules)) == rules


def test_a_file_saved_with_a_byte_order_mark_reads_as_without(tmp_path):
    # Windows Notepad saves UTF-8 with a byte-order mark.
    path = tmp_path / "team.toml"
    path.write_bytes(GOOD.encode("utf-8-sig"))
    assert load_playbook(path) == parse_playbook(GOOD)
    assert parse_playbook("\ufeff" + GOOD) == parse_playbook(GOOD)


def test_non_utf8_bytes_are_refused():
    with pytest.raises(PlaybookError, match="not UTF-8"):
        parse_playbook(b"\xff\xfe[playbook]")


def test_a_dumped_playbook_reads_back_unchanged():
    for book in bundled_playbooks().values():
        assert parse_playbook(dump_playbook(book)) == book
    tricky = parse_playbook(
        GOOD.replace("twelve months' fees.", 'fees \\"quoted\\"\\n\\t and \\\\ más.')
    )
    assert '"quoted"\n\t and \\ más' in tricky.positions[0].position
    assert parse_playbook(dump_playbook(tricky)) == tricky
    # TOML forbids DEL in a string where JSON's escapes leave it: a saved playbook must load.
    deleted = parse_playbook(GOOD.replace('title = "Liability cap"', 'title = "Cap\\u007f"'))
    assert deleted.positions[0].title == "Cap\x7f"
    assert parse_playbook(dump_playbook(deleted)) == deleted


def test_a_duplicate_id_is_named_beside_the_positions_other_problems():
    text = (
        '[playbook]\nid = "x"\nname = "X"\n'
        + position(1, "a") + 'title2 = "x"\n' + position(2, "a")
    )  # fmt: skip
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(text)
    assert caught.value.problems == [
        "position 1 (id 'a'): unknown field 'title2'",
        "position 2 (id 'a'): duplicate id, already used by position 1",
    ]


def test_resolve_takes_a_bundled_id_or_a_file(tmp_path):
    assert resolve_playbook("nda").id == "nda"
    path = tmp_path / "team.toml"
    path.write_text(GOOD)
    assert resolve_playbook(str(path)).id == "team"
    with pytest.raises(PlaybookError, match="cannot be read"):
        resolve_playbook(str(tmp_path / "missing.toml"))
