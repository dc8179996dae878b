"""The run log's one schema: the first version's tables and every migration since, for runs,
batches and scorecards alike, on SQLite and PostgreSQL.

`MIGRATIONS[n]` lifts version n to n + 1; the version is the count of migrations plus one, so a new
migration is one entry here and nothing else. No comments and no semicolons inside statements: the
runner splits on semicolons (`lib.store.database.Database.migrate`).
"""

from __future__ import annotations

BATCHES = """
CREATE TABLE batches (
    batch_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    settings TEXT NOT NULL,
    models TEXT NOT NULL
);
CREATE TABLE batch_items (
    batch_id TEXT NOT NULL REFERENCES batches(batch_id) ON DELETE CASCADE,
    contract TEXT NOT NULL,
    contract_sha256 TEXT NOT NULL,
    model_key TEXT NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    updated TEXT NOT NULL,
    PRIMARY KEY (batch_id, contract, model_key)
);
CREATE TABLE scorecards (
    scorecard_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    batch_id TEXT,
    body TEXT NOT NULL
);
CREATE INDEX scorecards_created ON scorecards(created);
ALTER TABLE runs ADD COLUMN batch_id TEXT;
CREATE INDEX runs_batch ON runs(batch_id);
"""

CREATE_V1 = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    page TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    document_name TEXT NOT NULL,
    document_chars INTEGER NOT NULL,
    template TEXT NOT NULL,
    instructions TEXT NOT NULL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    tokens_reported INTEGER NOT NULL,
    ttft_s REAL,
    total_s REAL,
    tokens_per_s REAL,
    status TEXT NOT NULL,
    finish_reason TEXT,
    error_kind TEXT,
    error_message TEXT,
    cost_usd REAL,
    report TEXT NOT NULL,
    contract_text TEXT,
    notes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX runs_started ON runs(started);
"""

MIGRATIONS: dict[int, str] = {
    1: """
    ALTER TABLE runs ADD COLUMN document_sha256 TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN comparison_id TEXT;
    CREATE INDEX runs_comparison ON runs(comparison_id);
    """,
    2: """
    ALTER TABLE runs ADD COLUMN quotes_total INTEGER;
    ALTER TABLE runs ADD COLUMN quotes_verified INTEGER;
    ALTER TABLE runs ADD COLUMN quotes_close INTEGER;
    ALTER TABLE runs ADD COLUMN quotes_not_found INTEGER;
    ALTER TABLE runs ADD COLUMN crosscheck_disagreements INTEGER;
    ALTER TABLE runs ADD COLUMN strategy TEXT;
    ALTER TABLE runs ADD COLUMN parts INTEGER;
    """,
    # Batches, their items and scorecards.
    3: BATCHES,
    # Whose run, batch or scorecard it is; indexes for History's filters and pages.
    4: """
    ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    CREATE INDEX runs_owner_started ON runs(owner, started);
    CREATE INDEX runs_provider ON runs(provider);
    CREATE INDEX runs_model ON runs(model);
    ALTER TABLE batches ADD COLUMN owner TEXT NOT NULL DEFAULT '';
    ALTER TABLE scorecards ADD COLUMN owner TEXT NOT NULL DEFAULT ''
    """,
    # Where a contract's text came from when not the file's own (OCR).
    5: """
    ALTER TABLE runs ADD COLUMN text_source TEXT
    """,
    # A reasoning model's thinking and its figures, kept apart from the report.
    6: """
    ALTER TABLE runs ADD COLUMN thinking TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN thinking_tokens INTEGER;
    ALTER TABLE runs ADD COLUMN thinking_reported INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN ttft_thinking_s REAL;
    ALTER TABLE runs ADD COLUMN thinking_s REAL
    """,
    # The prompt tokens a provider's cache stored and served, priced apart in cost_usd.
    7: """
    ALTER TABLE runs ADD COLUMN cache_write_tokens INTEGER;
    ALTER TABLE runs ADD COLUMN cache_read_tokens INTEGER
    """,
    # Playbook checks: the run's kind, its playbook, summary line and verdicts per position.
    8: """
    ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'review';
    ALTER TABLE runs ADD COLUMN playbook_id TEXT;
    ALTER TABLE runs ADD COLUMN playbook_summary TEXT;
    ALTER TABLE runs ADD COLUMN verdicts TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE runs ADD COLUMN verdict_counts TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX runs_kind ON runs(kind)
    """,
    # A team's own playbooks, per owner, as the TOML the loader validates.
    9: """
    CREATE TABLE playbooks (
        playbook_key TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        playbook_id TEXT NOT NULL,
        name TEXT NOT NULL,
        updated TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE UNIQUE INDEX playbooks_owner_id ON playbooks(owner, playbook_id);
    CREATE INDEX playbooks_updated ON playbooks(updated)
    """,
    # Which endpoint served the run (a model may be served by several).
    10: """
    ALTER TABLE runs ADD COLUMN served_by TEXT NOT NULL DEFAULT ''
    """,
    # A playbook check's problems with the answer as a whole, shown again on History.
    11: """
    ALTER TABLE runs ADD COLUMN playbook_problems TEXT NOT NULL DEFAULT '[]'
    """,
    # When the process running a run or a batch last said it still does (`lib.store.heartbeat`),
    # and an index to find the runs still running at every beat's sweep.
    12: """
    ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
    ALTER TABLE batches ADD COLUMN heartbeat_at TEXT;
    CREATE INDEX runs_status ON runs(status)
    """,
}

SCHEMA_VERSION = max(MIGRATIONS) + 1
