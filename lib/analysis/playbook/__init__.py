"""Playbook review: a team's standard positions, each checked against a contract.

`format` holds the records, `loader` reads and validates playbook files, `checker` is the built-in
checker (no model), `scorer` scores verdicts in ContractNLI's layout, `answer` parses a model's
streamed answer and `prompt` asks a model for it.
"""
