"""Storage: the run log, batches and scorecards on SQLite or PostgreSQL, whose runs they are, and
the one schema with its migrations. Below `lib/runs`, which writes runs here as they end."""
