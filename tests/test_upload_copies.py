"""Copies of uploads (`CRS_UPLOAD_DIR`): one private file per upload, never a shared name."""

from __future__ import annotations

import os
import stat

import pytest

from lib.engine.settings import load_settings
from lib.runs.launch import save_upload


def test_each_upload_gets_its_own_private_unguessable_file(tmp_path):
    settings = load_settings({"CRS_UPLOAD_DIR": str(tmp_path / "uploads")})
    old = os.umask(0o022)  # a usual umask would leave a plain write world-readable
    try:
        first = save_upload(settings, "contract.pdf", b"%PDF first analyst")
        second = save_upload(settings, "contract.pdf", b"%PDF second analyst")
        sneaky = save_upload(settings, "../../etc/cron.d/x.PDF", b"%PDF third")
    finally:
        os.umask(old)
    assert first is not None and second is not None and sneaky is not None
    assert first != second  # the second analyst's file neither replaces nor reveals the first
    assert first.read_bytes() == b"%PDF first analyst"
    assert second.read_bytes() == b"%PDF second analyst"
    for path in (first, second, sneaky):
        assert path.parent == settings.upload_dir
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "contract" not in path.name and len(path.stem) >= 32  # not guessable from the name
    assert sneaky.suffix == ".pdf"
    assert sorted(p.name for p in settings.upload_dir.iterdir()) == sorted(
        p.name for p in (first, second, sneaky)
    )


def test_a_link_planted_under_a_future_name_is_never_followed(tmp_path, monkeypatch):
    settings = load_settings({"CRS_UPLOAD_DIR": str(tmp_path / "uploads")})
    settings.upload_dir.mkdir()
    target = tmp_path / "elsewhere"
    monkeypatch.setattr("secrets.token_urlsafe", lambda n: "predicted")
    (settings.upload_dir / "predicted.pdf").symlink_to(target)
    with pytest.raises(FileExistsError):
        save_upload(settings, "a.pdf", b"data")
    assert not target.exists()


def test_nothing_is_written_without_an_upload_folder(tmp_path):
    assert save_upload(load_settings({}), "contract.pdf", b"data") is None
