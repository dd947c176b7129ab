"""project.sqlite, the folder layout, bad folders and foreign files."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from core.errors import ProjectError
from core.project import (
    CompanyProfile,
    create_project,
    forget_project,
    open_project,
    recent_projects,
    remember_project,
    schema,
)
from core.project.store import DB_NAME


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_create_makes_layout_and_wal_database(tmp_path: Path) -> None:
    project = create_project(tmp_path / "acme", company_name="Acme Rentals")
    root = tmp_path / "acme"
    assert {p.name for p in root.iterdir()} >= {DB_NAME, "files", "runs", "exports"}
    mode = project.store.query("PRAGMA journal_mode")[0][0]
    assert mode == "wal"
    assert project.store.query("PRAGMA foreign_keys")[0][0] == 1
    assert project.store.schema_version == schema.SCHEMA_VERSION
    assert project.profile().company_name == "Acme Rentals"
    project.close()


def test_profile_round_trip_survives_reopen(tmp_path: Path) -> None:
    project = create_project(tmp_path / "p")
    profile = CompanyProfile(
        company_name="Harbour Homes",
        description="We let and manage flats for private landlords by the sea.",
        customer_roles=["tenant", "owner"],
        tone_target=70,
        policies="Late rent fee is £25.\nNo pets without written consent.",
    )
    project.save_profile(profile)
    project.close()
    again = open_project(tmp_path / "p")
    assert again.profile() == profile
    assert again.info()["profile_valid"] is True
    again.close()


def test_create_refuses_existing_project_and_leaves_it(tmp_path: Path) -> None:
    create_project(tmp_path / "p", company_name="First").close()
    before = _digest(tmp_path / "p" / DB_NAME)
    with pytest.raises(ProjectError, match="already holds a TalkSmall project"):
        create_project(tmp_path / "p", company_name="Second")
    assert _digest(tmp_path / "p" / DB_NAME) == before


def test_create_in_a_file_path_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    with pytest.raises(ProjectError, match="is a file"):
        create_project(target)


def test_unwritable_folder_gives_clear_error(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.geteuid() == 0:
        # root ignores folder permissions: make the OS answer as it would for a user.
        def denied(*_args: object, **_kwargs: object) -> None:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr("core.project.project.tempfile.mkstemp", denied)
    try:
        with pytest.raises(ProjectError, match=r"Cannot write .*Permission denied"):
            create_project(locked)
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def test_folder_under_a_file_gives_clear_error(tmp_path: Path) -> None:
    # Works even as root: a path below a regular file can never be created.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ProjectError, match="Cannot create the folder"):
        create_project(blocker / "project")


def test_corrupted_database_is_refused_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    db = folder / DB_NAME
    db.write_bytes(b"this is not sqlite at all" * 100)
    before = _digest(db)
    with pytest.raises(ProjectError, match="damaged or not a database"):
        open_project(folder)
    assert _digest(db) == before
    assert sorted(p.name for p in folder.iterdir()) == [DB_NAME]


def test_truncated_project_database_is_refused(tmp_path: Path) -> None:
    create_project(tmp_path / "p").close()
    db = tmp_path / "p" / DB_NAME
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2] + b"\0" * 100)
    with pytest.raises(ProjectError):
        open_project(tmp_path / "p")


def test_foreign_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "foreign"
    folder.mkdir()
    db = folder / DB_NAME
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    before = _digest(db)
    with pytest.raises(ProjectError, match="another program"):
        open_project(folder)
    assert _digest(db) == before
    assert sorted(p.name for p in folder.iterdir()) == [DB_NAME]  # no -wal, no subfolders


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    create_project(tmp_path / "p").close()
    conn = sqlite3.connect(tmp_path / "p" / DB_NAME)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(ProjectError, match="newer TalkSmall"):
        open_project(tmp_path / "p")


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="does not exist"):
        open_project(tmp_path / "nowhere")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ProjectError, match="not a TalkSmall project"):
        open_project(plain)


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    create_project(tmp_path / "p").close()
    broken = [*schema.MIGRATIONS, ("broken", "CREATE TABLE good (a); CREATE TABLE (")]
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(broken))
    with pytest.raises(sqlite3.DatabaseError):
        open_project(tmp_path / "p")
    monkeypatch.undo()
    project = open_project(tmp_path / "p")
    assert project.store.schema_version == schema.SCHEMA_VERSION
    tables = {r[0] for r in project.store.query("SELECT name FROM sqlite_master")}
    assert "good" not in tables
    project.close()


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    project = create_project(tmp_path / "p")
    with pytest.raises(RuntimeError), project.store.transaction() as conn:
        conn.execute("INSERT INTO settings (key, value) VALUES ('x', '1')")
        raise RuntimeError("boom")
    assert project.store.get_setting("x") is None
    project.close()


def test_a_full_disk_is_a_plain_message_and_keeps_what_was_saved(tmp_path: Path) -> None:
    """SQLITE_FULL (here: the database may not grow) rolls back and says what to do."""
    project = create_project(tmp_path / "p")
    project.store.set_setting("kept", "yes")
    pages = project.store.query("PRAGMA page_count")[0][0]
    project.store.query(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(ProjectError, match=r"disk .* is full") as caught:
        project.store.set_setting("big", "x" * 200_000)
    assert "Free some disk space" in caught.value.hint
    assert project.store.get_setting("kept") == "yes"
    assert project.store.get_setting("big") is None
    project.store.set_setting("small", 1)  # the connection is usable afterwards
    assert project.store.get_setting("small") == 1
    project.close()


def test_settings_are_safe_across_threads(tmp_path: Path) -> None:
    project = create_project(tmp_path / "p")

    def writer(n: int) -> None:
        for i in range(20):
            project.store.set_setting(f"k{n}", i)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [project.store.get_setting(f"k{n}") for n in range(4)] == [19] * 4
    project.close()


def test_recent_projects_most_recent_first_and_missing_marked(tmp_path: Path) -> None:
    a = create_project(tmp_path / "a", company_name="A")
    b = create_project(tmp_path / "b", company_name="B")
    remember_project(a.root, a.name)
    remember_project(b.root, b.name)
    remember_project(a.root, a.name)
    entries = recent_projects()
    assert [e["name"] for e in entries] == ["A", "B"]
    b.close()
    (b.root / DB_NAME).unlink()
    assert [e["exists"] for e in recent_projects()] == [True, False]
    forget_project(b.root)
    assert [e["name"] for e in recent_projects()] == ["A"]
    a.close()


def test_recent_projects_tolerates_a_damaged_file(_isolated_config: Path) -> None:
    (_isolated_config / "recent-projects.json").write_text("{not json")
    assert recent_projects() == []
