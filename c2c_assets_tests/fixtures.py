"""Helpers and data the tests share (imported by test modules; pytest fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The ingest contract's own examples (docs/ingest-contract.md), kept in the repository.
EXAMPLE_INBOX = REPO / "docs" / "examples" / "inbox"
