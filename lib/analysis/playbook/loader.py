"""Reading, validating and writing playbook files (TOML, read with the standard library).

A playbook comes from a team's repository or an upload, so it is untrusted: every problem is
collected and reported together, each naming the entry it concerns ("position 3 (id 'cap'):
unknown category 'Liabilty cap'"), rather than stopping at the first. Limits keep one file from
costing the app more than a contract does.
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from lib.analysis.clauses.categories import CUAD_CATEGORIES, EXTRA_CATEGORIES
from lib.analysis.clauses.red_flags import RULES
from lib.analysis.playbook.format import (
    CHECKERS,
    CLAUSE_RULES,
    Playbook,
    Position,
    Severity,
    Verdict,
)

MAX_BYTES = 1_000_000
MAX_POSITIONS = 200
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CATEGORIES = {c.lower(): c for c in (*CUAD_CATEGORIES, *EXTRA_CATEGORIES)}
_RULES = {r.lower(): r for r in RULES}
# Field → longest text accepted, in characters.
_REQUIRED = {"id": 64, "title": 120, "position": 500, "meets": 1000, "deviates": 1000}
_OPTIONAL = {"preferred": 4000, "fallback": 4000, "category": 80}
_OTHER = {"severity", "deviates_if", "when_absent", "replace"}
_PLAYBOOK_FIELDS = {"id", "name", "description", "attribution", "checker"}
BUNDLED_DIR = Path(__file__).parent / "bundled"


class PlaybookError(ValueError):
    """The file is not a usable playbook; `problems` names every bad entry. `heading` over the
    problems is the one sentence every front end shows: the Playbook page above its table of
    problems, `crs-batch` above them as a list (the exception's text)."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        self.heading = f"{source} is not a usable playbook:"
        listed = "\n".join(f"- {p}" for p in problems)
        super().__init__(f"{self.heading}\n{listed}")


def _text(value: Any, limit: int, where: str, name: str, problems: list[str]) -> str:
    if not isinstance(value, str):
        problems.append(f"{where}: '{name}' must be text")
        return ""
    text = value.strip()
    if len(text) > limit:
        problems.append(f"{where}: '{name}' is longer than {limit} characters")
    return text


def _position(raw: Any, index: int, problems: list[str]) -> Position | None:
    where = f"position {index}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table ([[positions]])")
        return None
    if isinstance(raw.get("id"), str) and raw["id"].strip():
        where = f"position {index} (id {raw['id'].strip()!r})"
    before = len(problems)
    for key in sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL) - _OTHER):
        problems.append(f"{where}: unknown field {key!r}")
    values: dict[str, str] = {}
    for name, limit in _REQUIRED.items():
        if name not in raw or (isinstance(raw[name], str) and not raw[name].strip()):
            problems.append(f"{where}: missing field {name!r}")
            continue
        values[name] = _text(raw[name], limit, where, name, problems)
    for name, limit in _OPTIONAL.items():
        values[name] = _text(raw.get(name, ""), limit, where, name, problems)
    if "id" in values and values["id"] and not _ID.match(values["id"]):
        problems.append(f"{where}: id may hold only letters, digits, '-', '_' and '.'")
    category = values.get("category", "")
    if category:
        if category.lower() not in _CATEGORIES:
            problems.append(f"{where}: unknown category {category!r}")
        else:
            category = _CATEGORIES[category.lower()]
    severity = raw.get("severity", "medium")
    if not isinstance(severity, str) or severity not in {s.value for s in Severity}:
        problems.append(f"{where}: severity must be low, medium or high, not {severity!r}")
        severity = "medium"
    when_absent = raw.get("when_absent", Verdict.NOT_ADDRESSED.value)
    if not isinstance(when_absent, str) or when_absent not in (
        Verdict.MEETS.value,
        Verdict.NOT_ADDRESSED.value,
    ):
        problems.append(f"{where}: when_absent must be 'meets' or 'not addressed'")
        when_absent = Verdict.NOT_ADDRESSED.value
    deviates_if = raw.get("deviates_if", [])
    if not isinstance(deviates_if, list) or not all(
        isinstance(r, str) and 0 < len(r) <= 120 for r in deviates_if
    ):
        problems.append(f"{where}: deviates_if must be a list of red-flag rule names")
        deviates_if = []
    for rule in deviates_if:
        if rule.lower() not in _RULES:
            problems.append(
                f"{where}: deviates_if names no red-flag rule {rule!r} (the rules: "
                + ", ".join(repr(r) for r in RULES)
                + ")"
            )
    deviates_if = [_RULES.get(r.lower(), r) for r in deviates_if]
    replace = raw.get("replace", False)
    if not isinstance(replace, bool):
        problems.append(f"{where}: replace must be true or false")
        replace = False
    if len(problems) > before:
        return None
    return Position(
        id=values["id"],
        title=values["title"],
        position=values["position"],
        meets=values["meets"],
        deviates=values["deviates"],
        severity=Severity(severity),
        preferred=values["preferred"],
        fallback=values["fallback"],
        category=category,
        deviates_if=tuple(deviates_if),
        when_absent=Verdict(when_absent),
        replace=replace,
    )


def parse_playbook(data: bytes | str, source: str = "the playbook") -> Playbook:
    """A validated `Playbook`, or `PlaybookError` listing every problem found."""
    raw_bytes = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw_bytes) > MAX_BYTES:
        raise PlaybookError(source, [f"the file is over {MAX_BYTES // 1_000_000} MB"])
    try:
        # "utf-8-sig": Windows Notepad opens a UTF-8 file with a byte-order mark, which TOML
        # would read as a stray character before the first table.
        doc = tomllib.loads(raw_bytes.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PlaybookError(source, ["the file is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(source, [f"not valid TOML: {exc}"]) from None
    return validate_playbook(doc, source)


def validate_playbook(doc: dict[str, Any], source: str = "the playbook") -> Playbook:
    """A playbook from its parsed tables (a TOML file's, or a table editor's rows), or
    `PlaybookError` listing every problem found."""
    problems: list[str] = []
    for key in sorted(set(doc) - {"playbook", "positions"}):
        problems.append(f"unknown top-level entry {key!r}")
    head = doc.get("playbook")
    if not isinstance(head, dict):
        problems.append("missing the [playbook] table (id and name)")
        head = {}
    for key in sorted(set(head) - _PLAYBOOK_FIELDS):
        problems.append(f"[playbook]: unknown field {key!r}")
    pid = _text(head.get("id", ""), 64, "[playbook]", "id", problems)
    name = _text(head.get("name", ""), 120, "[playbook]", "name", problems)
    description = _text(head.get("description", ""), 2000, "[playbook]", "description", problems)
    attribution = _text(head.get("attribution", ""), 2000, "[playbook]", "attribution", problems)
    checker = _text(head.get("checker", ""), 64, "[playbook]", "checker", problems)
    if checker and checker not in CHECKERS:
        # A misspelt checker would leave every verdict to a model without a word.
        problems.append(
            "[playbook]: checker must be "
            + " or ".join(repr(c) for c in CHECKERS)
            + f" (or left out for evidence only), not {checker!r}"
        )
    if not pid or not _ID.match(pid):
        problems.append(
            "[playbook]: 'id' is missing or holds characters other than letters, digits, - _ ."
        )
    if not name:
        problems.append("[playbook]: missing field 'name'")
    raw_positions = doc.get("positions", [])
    if not isinstance(raw_positions, list) or not raw_positions:
        problems.append("no positions: add at least one [[positions]] table")
        raw_positions = []
    if len(raw_positions) > MAX_POSITIONS:
        problems.append(f"{len(raw_positions)} positions: at most {MAX_POSITIONS} are accepted")
        raw_positions = raw_positions[:MAX_POSITIONS]
    positions: list[Position] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_positions, start=1):
        position = _position(raw, index, problems)
        # A duplicate id is named even beside the position's other problems: every one at once.
        pid_raw = raw.get("id") if isinstance(raw, dict) else None
        position_id = pid_raw.strip() if isinstance(pid_raw, str) else ""
        if position_id in seen:
            problems.append(
                f"position {index} (id {position_id!r}): duplicate id, "
                f"already used by position {seen[position_id]}"
            )
            continue
        if position_id:
            seen[position_id] = index
        if position is not None:
            positions.append(position)
    if problems:
        raise PlaybookError(source, problems)
    return Playbook(pid, name, description, tuple(positions), attribution,
                    checker or _implied_checker(positions))  # fmt: skip


def _implied_checker(positions: list[Position]) -> str:
    """The checker a playbook that names none is decided by. `deviates_if` is read by the
    clause rules alone, so an author who wrote it meant those rules to decide: reading it as
    evidence only would ignore every rule named and leave each verdict to a model."""
    return CLAUSE_RULES if any(p.deviates_if for p in positions) else ""


def load_playbook(path: str | Path) -> Playbook:
    """A playbook file from disk, refused before reading when over the size limit."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PlaybookError(path.name, [f"cannot be read: {exc.strerror}"]) from None
    if size > MAX_BYTES:
        raise PlaybookError(path.name, [f"the file is over {MAX_BYTES // 1_000_000} MB"])
    return parse_playbook(path.read_bytes(), path.name)


@cache
def bundled_playbooks() -> dict[str, Playbook]:
    """The playbooks that ship with the app, by id."""
    books = [load_playbook(p) for p in sorted(BUNDLED_DIR.glob("*.toml"))]
    return {b.id: b for b in books}


def resolve_playbook(id_or_path: str) -> Playbook:
    """A bundled playbook's id or a playbook file's path (for the command line)."""
    bundled = bundled_playbooks()
    if id_or_path in bundled:
        return bundled[id_or_path]
    return load_playbook(id_or_path)


def _toml_string(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes for every character JSON emits;
    # JSON leaves DEL as it is, which TOML forbids in a string.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def dump_playbook(playbook: Playbook) -> str:
    """The playbook as TOML that `parse_playbook` reads back unchanged (for downloads)."""
    lines = ["[playbook]"]
    for key in ("id", "name", "description", "attribution", "checker"):
        value = getattr(playbook, key)
        if value or key in ("id", "name"):
            lines.append(f"{key} = {_toml_string(value)}")
    for p in playbook.positions:
        lines += ["", "[[positions]]"]
        for key in ("id", "title", "position", "meets", "deviates"):
            lines.append(f"{key} = {_toml_string(getattr(p, key))}")
        lines.append(f"severity = {_toml_string(p.severity.value)}")
        for key in ("preferred", "fallback", "category"):
            if getattr(p, key):
                lines.append(f"{key} = {_toml_string(getattr(p, key))}")
        if p.deviates_if:
            lines.append(f"deviates_if = [{', '.join(_toml_string(r) for r in p.deviates_if)}]")
        if p.when_absent is not Verdict.NOT_ADDRESSED:
            lines.append(f"when_absent = {_toml_string(p.when_absent.value)}")
        if p.replace:
            lines.append("replace = true")
    return "\n".join(lines) + "\n"


# The columns of the table editor, in order: every position field, lists as comma-separated text.
TABLE_COLUMNS = (
    "id", "title", "position", "meets", "deviates", "severity", "preferred", "fallback",
    "category", "deviates_if", "when_absent", "replace",
)  # fmt: skip


def playbook_rows(playbook: Playbook) -> list[dict[str, Any]]:
    """One row per position for a table editor; `playbook_from_rows` reads them back."""
    return [
        {
            "id": p.id,
            "title": p.title,
            "position": p.position,
            "meets": p.meets,
            "deviates": p.deviates,
            "severity": p.severity.value,
            "preferred": p.preferred,
            "fallback": p.fallback,
            "category": p.category,
            "deviates_if": ", ".join(p.deviates_if),
            "when_absent": p.when_absent.value,
            "replace": p.replace,
        }
        for p in playbook.positions
    ]


def _cell(value: Any) -> Any:
    """An edited cell: empty cells (None, NaN) as absent, text stripped."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.strip() if isinstance(value, str) else value


def playbook_from_rows(head: Playbook, rows: list[dict[str, Any]]) -> Playbook:
    """The playbook `head` names with the edited rows as its positions, validated exactly as a
    file is (`PlaybookError` names each bad row by its number)."""
    positions = []
    for row in rows:
        raw: dict[str, Any] = {}
        for key in TABLE_COLUMNS:
            value = _cell(row.get(key))
            if value is None or value == "":
                continue
            if key == "deviates_if":
                value = [r.strip() for r in str(value).split(",") if r.strip()]
            if key == "replace":
                value = bool(value)
            raw[key] = value
        if raw:
            positions.append(raw)
    doc = {
        "playbook": {
            key: getattr(head, key)
            for key in ("id", "name", "description", "attribution", "checker")
            if getattr(head, key)
        },
        "positions": positions,
    }
    return validate_playbook(doc, f"playbook {head.id!r}")
