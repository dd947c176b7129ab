"""The one owner of project.sqlite's schema: numbered migrations, applied in order.

A later step adds its tables by appending a migration here; nothing else issues DDL.
``PRAGMA user_version`` records how many migrations ran; ``PRAGMA application_id`` marks
the file as ours so a foreign database is refused instead of altered.
"""

from __future__ import annotations

import sqlite3

# "TSML" as a big-endian int: the SQLite application_id of a TalkSmall project.
APPLICATION_ID = 0x54534D4C

MIGRATIONS: list[tuple[str, str]] = [
    (
        "settings, models and runs",
        """
        CREATE TABLE settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL,               -- JSON
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE models (
            id         INTEGER PRIMARY KEY,
            kind       TEXT NOT NULL CHECK (kind IN ('embedded', 'hf', 'gguf')),
            path       TEXT NOT NULL UNIQUE,
            name       TEXT NOT NULL,
            info       TEXT NOT NULL,          -- JSON of core.models.ModelInfo
            added_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE runs (
            id          TEXT PRIMARY KEY,      -- the folder name under runs/
            job         TEXT NOT NULL,
            status      TEXT NOT NULL,         -- running | succeeded | failed | cancelled
            spec        TEXT NOT NULL,         -- JSON
            output      TEXT,
            created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            finished_at TEXT
        );
        """,
    ),
    (
        "documents, chunks and redactions",
        """
        CREATE TABLE documents (
            id            INTEGER PRIMARY KEY,
            sha256        TEXT UNIQUE,         -- NULL when the file could not be read
            name          TEXT NOT NULL,       -- file name as the operator knows it
            source_path   TEXT NOT NULL,       -- where it was imported from
            stored_path   TEXT,                -- files/<sha256><ext>, relative to the project
            format        TEXT NOT NULL,       -- pdf | docx | txt | md | html | csv | json | jsonl
            kind          TEXT NOT NULL DEFAULT 'document' CHECK (kind IN ('document', 'tickets')),
            size_bytes    INTEGER NOT NULL DEFAULT 0,
            status        TEXT NOT NULL CHECK (status IN ('importing', 'imported', 'failed')),
            error         TEXT,                -- plain-language reason when failed
            pages         INTEGER,             -- pages (PDF), rows (tickets), sections otherwise
            meta          TEXT NOT NULL DEFAULT '{}',  -- JSON: ticket mapping, encoding, ...
            imported_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE TABLE chunks (
            id            INTEGER PRIMARY KEY,
            document_id   INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            seq           INTEGER NOT NULL,    -- order within the document
            kind          TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'ticket')),
            section       TEXT NOT NULL DEFAULT '',  -- heading path, e.g. "Deposits > Returns"
            page          INTEGER,             -- first page (PDF) or row (tickets)
            original_text TEXT NOT NULL,       -- as extracted: for the operator's eyes only
            text          TEXT NOT NULL,       -- redacted: the only text later steps read
            token_count   INTEGER NOT NULL,
            meta          TEXT NOT NULL DEFAULT '{}',  -- JSON: ticket fields for kind 'ticket'
            UNIQUE (document_id, seq)
        );
        CREATE INDEX chunks_document ON chunks(document_id);
        CREATE TABLE redactions (
            id            INTEGER PRIMARY KEY,
            chunk_id      INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
            kind          TEXT NOT NULL,  -- email|phone|card|iban|address|name|term
            start         INTEGER NOT NULL,    -- offsets into chunks.original_text
            end           INTEGER NOT NULL,
            original      TEXT NOT NULL,
            active        INTEGER NOT NULL DEFAULT 1  -- 0 once the operator un-redacts it
        );
        CREATE INDEX redactions_chunk ON redactions(chunk_id);
        """,
    ),
    (
        "conversations: generation work list, examples and preference pairs",
        """
        CREATE TABLE generation_work (
            id            INTEGER PRIMARY KEY,
            key           TEXT NOT NULL UNIQUE,  -- deterministic: source:chunk[:chunk2]:role:n
            position      INTEGER NOT NULL,      -- order in the plan (structure first)
            source        TEXT NOT NULL,         -- faq | ticket | heading | teacher | ...
            role          TEXT NOT NULL,         -- the customer role asking
            chunk_id      INTEGER REFERENCES chunks(id) ON DELETE CASCADE,
            chunk2_id     INTEGER REFERENCES chunks(id) ON DELETE CASCADE,  -- follow-up turn
            payload       TEXT NOT NULL DEFAULT '{}',  -- JSON: seed question, template, ...
            status        TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'done')),
            outcome       TEXT,                  -- kept | dropped: <reason> | skipped: <reason>
            attempts      INTEGER NOT NULL DEFAULT 0,
            updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE INDEX generation_work_todo ON generation_work(status, position);
        CREATE INDEX generation_work_chunk ON generation_work(chunk_id);
        CREATE TABLE examples (
            id            INTEGER PRIMARY KEY,
            work_id       INTEGER REFERENCES generation_work(id) ON DELETE SET NULL,
            chunk_id      INTEGER REFERENCES chunks(id) ON DELETE CASCADE,
            chunk2_id     INTEGER REFERENCES chunks(id) ON DELETE CASCADE,
            source        TEXT NOT NULL,         -- as generation_work.source, or 'import'
            role          TEXT NOT NULL,
            messages      TEXT NOT NULL,         -- JSON [{role, content}], without the system turn
            system        TEXT,                  -- NULL: the project's system prompt at export
            intent        TEXT,
            analysis      TEXT,
            status        TEXT NOT NULL
                          CHECK (status IN ('kept', 'accepted', 'rejected', 'dropped')),
            gate          TEXT,                  -- the gate that dropped it
            reason        TEXT,
            flesch        REAL,                  -- of the assistant turns
            grounding     REAL,                  -- answer-to-chunk similarity
            scores        TEXT NOT NULL DEFAULT '{}',  -- JSON: every gate's score, rewrites
            template      TEXT,                  -- prompt template(s) used
            teacher       TEXT,
            seed          INTEGER,
            question_vec  BLOB,                  -- float32 embedding of the user turns (dedup)
            edited        INTEGER NOT NULL DEFAULT 0,
            created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE INDEX examples_status ON examples(status);
        CREATE INDEX examples_chunk ON examples(chunk_id);
        CREATE INDEX examples_chunk2 ON examples(chunk2_id);
        CREATE INDEX examples_work ON examples(work_id);
        CREATE TABLE pairs (
            id            INTEGER PRIMARY KEY,
            example_id    INTEGER REFERENCES examples(id) ON DELETE CASCADE,
            chunk_id      INTEGER REFERENCES chunks(id) ON DELETE CASCADE,
            source        TEXT NOT NULL,         -- judge | formal | ungrounded | off_policy | ...
            role          TEXT NOT NULL,
            prompt        TEXT NOT NULL,         -- JSON [{role, content}] to the last customer turn
            system        TEXT,                  -- NULL: the project's system prompt at export
            chosen        TEXT NOT NULL,
            rejected      TEXT NOT NULL,
            status        TEXT NOT NULL
                          CHECK (status IN ('kept', 'accepted', 'rejected', 'dropped')),
            reason        TEXT,
            decided_by    TEXT,                  -- checks | judge+checks | contrast | import
            scores        TEXT NOT NULL DEFAULT '{}',
            template      TEXT,
            teacher       TEXT,
            seed          INTEGER,
            edited        INTEGER NOT NULL DEFAULT 0,
            created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE INDEX pairs_example ON pairs(example_id);
        CREATE INDEX pairs_chunk ON pairs(chunk_id);
        CREATE INDEX pairs_status ON pairs(status);
        """,
    ),
    (
        "retrieval: full-text index of the chunks, chunk embeddings, index generation",
        """
        CREATE TABLE retrieval_state (
            id            INTEGER PRIMARY KEY CHECK (id = 1),
            generation    INTEGER NOT NULL     -- +1 on every chunk insert, text edit, delete
        );
        INSERT INTO retrieval_state (id, generation) VALUES (1, 0);
        CREATE VIRTUAL TABLE chunks_fts USING fts5(
            section, text, content='chunks', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        );
        INSERT INTO chunks_fts (chunks_fts) VALUES ('rebuild');
        CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
            INSERT INTO chunks_fts (rowid, section, text) VALUES (new.id, new.section, new.text);
            UPDATE retrieval_state SET generation = generation + 1;
        END;
        CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
            INSERT INTO chunks_fts (chunks_fts, rowid, section, text)
                VALUES ('delete', old.id, old.section, old.text);
            UPDATE retrieval_state SET generation = generation + 1;
        END;
        CREATE TRIGGER chunks_fts_update AFTER UPDATE OF section, text ON chunks BEGIN
            INSERT INTO chunks_fts (chunks_fts, rowid, section, text)
                VALUES ('delete', old.id, old.section, old.text);
            INSERT INTO chunks_fts (rowid, section, text) VALUES (new.id, new.section, new.text);
            UPDATE retrieval_state SET generation = generation + 1;
        END;
        CREATE TABLE chunk_vectors (
            chunk_id      INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
            model         TEXT NOT NULL,       -- the embedding model that made the vector
            text_hash     TEXT NOT NULL,       -- sha256 of the embedded text (section + text)
            vector        BLOB NOT NULL        -- little-endian float32, unit length
        );
        """,
    ),
    (
        "ratings: what people said of answers (chat thumbs, blind A/B, 1-5 scales)",
        """
        CREATE TABLE ratings (
            id            INTEGER PRIMARY KEY,
            kind          TEXT NOT NULL CHECK (kind IN ('thumbs', 'ab', 'scale')),
            source        TEXT NOT NULL,         -- chat | rating screen
            rater         TEXT NOT NULL DEFAULT '',
            role          TEXT NOT NULL,         -- the customer role of the question
            prompt        TEXT NOT NULL,         -- JSON [{role, content}] to the last customer turn
            model         TEXT NOT NULL,         -- who wrote ``answer`` (run id, file, label)
            answer        TEXT NOT NULL,         -- what the customer saw
            other_model   TEXT,                  -- ab: the other side
            other_answer  TEXT,
            value         INTEGER,               -- thumbs +1/-1; ab +1 answer, -1 other, 0 tie
            scores        TEXT NOT NULL DEFAULT '{}',  -- scale: {criterion: 1-5}, flags
            passages      TEXT NOT NULL DEFAULT '[]',  -- passages the answer was given
            used_at       TEXT,                  -- when a preference pair was made from it
            created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE INDEX ratings_kind ON ratings(kind);
        """,
    ),
    (
        "evaluation: held-out and operator questions, stored answers per model and settings",
        """
        CREATE TABLE eval_questions (
            id            INTEGER PRIMARY KEY,
            source        TEXT NOT NULL CHECK (source IN ('held_out', 'operator')),
            example_id    INTEGER UNIQUE REFERENCES examples(id) ON DELETE CASCADE,
            question      TEXT NOT NULL,
            reference     TEXT,                  -- the reference answer, NULL when none
            role          TEXT NOT NULL,         -- the customer role asking
            intent        TEXT,                  -- the expected hidden intent, if any
            in_scope      INTEGER NOT NULL DEFAULT 1,  -- 0: the assistant should escalate
            must_contain  TEXT NOT NULL DEFAULT '[]',  -- JSON: facts a good answer states
            created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        );
        CREATE UNIQUE INDEX eval_questions_operator ON eval_questions(question, role)
            WHERE source = 'operator';
        CREATE TABLE eval_answers (
            id            INTEGER PRIMARY KEY,
            model         TEXT NOT NULL,         -- base | run:<id> | file:<path>
            variant       TEXT NOT NULL,         -- bare | prompted | retrieval
            question_id   INTEGER NOT NULL REFERENCES eval_questions(id) ON DELETE CASCADE,
            settings_hash TEXT NOT NULL,         -- sha256 of ``settings``
            settings      TEXT NOT NULL,         -- JSON: decoding, model file, prompt, index
            answer        TEXT NOT NULL,         -- visible text (hidden tags stripped)
            raw           TEXT NOT NULL,         -- the model's output with hidden tags
            analysis      TEXT,
            intent        TEXT,
            escalated     INTEGER NOT NULL DEFAULT 0,  -- the engine escalated (no passage)
            passages      TEXT NOT NULL DEFAULT '[]',  -- JSON: the passages it was given
            tokens        INTEGER NOT NULL DEFAULT 0,
            seconds       REAL NOT NULL DEFAULT 0,
            finish_reason TEXT,
            created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            UNIQUE (model, variant, question_id, settings_hash)
        );
        CREATE INDEX eval_answers_question ON eval_answers(question_id);
        """,
    ),
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations, each in its own transaction. Returns the new version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, (_title, sql) in enumerate(MIGRATIONS[version:], start=version + 1):
        # executescript would commit on its own; run statements inside one explicit
        # transaction so a crash mid-migration leaves the previous version intact.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _statements(sql: str) -> list[str]:
    # A trigger body holds semicolons of its own: pieces are joined until SQLite says the
    # statement is complete. What is left at the end is returned too, so it fails loudly.
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    out: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending = f"{pending};{piece}" if pending else piece
        if pending.strip() and sqlite3.complete_statement(pending + ";"):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        out.append(pending.strip())
    return out
