"""The full-text search index over message bodies and contact names and numbers.

SQLite: two FTS5 tables with the ``trigram`` tokenizer (so any substring of three or more
characters is found through the index, the same semantics as PostgreSQL's trigram search):
``search_messages`` is an external-content table over ``messages.body`` and ``search_contacts``
holds each contact's name and the digits of its numbers (rowid = contact id). Triggers keep both
in step with every write, whichever code path makes it.

PostgreSQL: ``pg_trgm`` GIN indexes on ``messages.body``, ``contacts.name``,
``contact_numbers.number`` and ``conversations.contact_number``, so ``ILIKE '%…%'`` is answered
from the index.

The DDL lives here, not in the models, because SQLAlchemy cannot describe virtual tables or
triggers: ``create_all`` runs :func:`create_search_index` through a metadata ``after_create``
event, and the Alembic migration calls the same two functions.
"""

from __future__ import annotations

from sqlalchemy import Connection, column, table, text

SEARCH_MESSAGES = "search_messages"
SEARCH_CONTACTS = "search_contacts"

# What the queries select from (SQLite); the hidden column named after the table takes MATCH.
search_messages = table(SEARCH_MESSAGES, column("rowid"), column(SEARCH_MESSAGES))
search_contacts = table(SEARCH_CONTACTS, column("rowid"), column(SEARCH_CONTACTS))

# The digits of a contact's numbers, and of the numbers its conversations are with (which stay
# findable if the number is later removed from the contact), space separated (E.164 is "+" and
# digits only).
_NUMBERS_OF = (
    "(SELECT coalesce(group_concat(replace(number, '+', ''), ' '), '') FROM ("
    "SELECT number FROM contact_numbers WHERE contact_id = {contact} "
    "UNION SELECT contact_number FROM conversations WHERE contact_id = {contact}))"
)

_SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {SEARCH_MESSAGES} USING fts5("
    "body, content='messages', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER {SEARCH_MESSAGES}_insert AFTER INSERT ON messages BEGIN "
    f"INSERT INTO {SEARCH_MESSAGES}(rowid, body) VALUES (new.id, new.body); END",
    f"CREATE TRIGGER {SEARCH_MESSAGES}_delete AFTER DELETE ON messages BEGIN "
    f"INSERT INTO {SEARCH_MESSAGES}({SEARCH_MESSAGES}, rowid, body) "
    "VALUES ('delete', old.id, old.body); END",
    f"CREATE TRIGGER {SEARCH_MESSAGES}_update AFTER UPDATE OF body ON messages BEGIN "
    f"INSERT INTO {SEARCH_MESSAGES}({SEARCH_MESSAGES}, rowid, body) "
    "VALUES ('delete', old.id, old.body); "
    f"INSERT INTO {SEARCH_MESSAGES}(rowid, body) VALUES (new.id, new.body); END",
    f"INSERT INTO {SEARCH_MESSAGES}({SEARCH_MESSAGES}) VALUES ('rebuild')",
    f"CREATE VIRTUAL TABLE {SEARCH_CONTACTS} USING fts5(name, numbers, tokenize='trigram')",
    f"CREATE TRIGGER {SEARCH_CONTACTS}_insert AFTER INSERT ON contacts BEGIN "
    f"INSERT INTO {SEARCH_CONTACTS}(rowid, name, numbers) "
    f"VALUES (new.id, new.name, {_NUMBERS_OF.format(contact='new.id')}); END",
    f"CREATE TRIGGER {SEARCH_CONTACTS}_rename AFTER UPDATE OF name ON contacts BEGIN "
    f"UPDATE {SEARCH_CONTACTS} SET name = new.name WHERE rowid = new.id; END",
    f"CREATE TRIGGER {SEARCH_CONTACTS}_delete AFTER DELETE ON contacts BEGIN "
    f"DELETE FROM {SEARCH_CONTACTS} WHERE rowid = old.id; END",
    f"CREATE TRIGGER {SEARCH_CONTACTS}_number_insert AFTER INSERT ON contact_numbers BEGIN "
    f"UPDATE {SEARCH_CONTACTS} SET numbers = {_NUMBERS_OF.format(contact='new.contact_id')} "
    "WHERE rowid = new.contact_id; END",
    f"CREATE TRIGGER {SEARCH_CONTACTS}_number_update AFTER UPDATE ON contact_numbers BEGIN "
    f"UPDATE {SEARCH_CONTACTS} SET numbers = {_NUMBERS_OF.format(contact='old.contact_id')} "
    "WHERE rowid = old.contact_id; "
    f"UPDATE {SEARCH_CONTACTS} SET numbers = {_NUMBERS_OF.format(contact='new.contact_id')} "
    "WHERE rowid = new.contact_id; END",
    f"CREATE TRIGGER {SEARCH_CONTACTS}_number_delete AFTER DELETE ON contact_numbers BEGIN "
    f"UPDATE {SEARCH_CONTACTS} SET numbers = {_NUMBERS_OF.format(contact='old.contact_id')} "
    "WHERE rowid = old.contact_id; END",
    f"CREATE TRIGGER {SEARCH_CONTACTS}_conversation AFTER INSERT ON conversations BEGIN "
    f"UPDATE {SEARCH_CONTACTS} SET numbers = {_NUMBERS_OF.format(contact='new.contact_id')} "
    "WHERE rowid = new.contact_id; END",
    f"INSERT INTO {SEARCH_CONTACTS}(rowid, name, numbers) "
    f"SELECT id, name, {_NUMBERS_OF.format(contact='contacts.id')} FROM contacts",
]

_SQLITE_DROP = [
    *(
        f"DROP TRIGGER IF EXISTS {name}"
        for name in (
            f"{SEARCH_MESSAGES}_insert",
            f"{SEARCH_MESSAGES}_delete",
            f"{SEARCH_MESSAGES}_update",
            f"{SEARCH_CONTACTS}_insert",
            f"{SEARCH_CONTACTS}_rename",
            f"{SEARCH_CONTACTS}_delete",
            f"{SEARCH_CONTACTS}_number_insert",
            f"{SEARCH_CONTACTS}_number_update",
            f"{SEARCH_CONTACTS}_number_delete",
            f"{SEARCH_CONTACTS}_conversation",
        )
    ),
    f"DROP TABLE IF EXISTS {SEARCH_MESSAGES}",
    f"DROP TABLE IF EXISTS {SEARCH_CONTACTS}",
]

# Index name -> (table, column). pg_trgm ships with PostgreSQL and is a trusted extension.
POSTGRES_INDEXES = {
    "ix_messages_body_trgm": ("messages", "body"),
    "ix_contacts_name_trgm": ("contacts", "name"),
    "ix_contact_numbers_number_trgm": ("contact_numbers", "number"),
    "ix_conversations_contact_number_trgm": ("conversations", "contact_number"),
}

# Database objects made here, not by the models (for Alembic's ``include_object``).
MANAGED_NAMES = frozenset(
    {SEARCH_MESSAGES, SEARCH_CONTACTS, *POSTGRES_INDEXES}
    | {f"{SEARCH_MESSAGES}_{s}" for s in ("data", "idx", "docsize", "config", "content")}
    | {f"{SEARCH_CONTACTS}_{s}" for s in ("data", "idx", "docsize", "config", "content")}
)


def create_search_index(connection: Connection) -> None:
    """Create (or rebuild from scratch) the search index, filled from the rows already there."""
    drop_search_index(connection)
    if connection.dialect.name == "sqlite":
        for statement in _SQLITE_CREATE:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        for name, (table_name, column_name) in POSTGRES_INDEXES.items():
            connection.execute(
                text(f"CREATE INDEX {name} ON {table_name} USING gin ({column_name} gin_trgm_ops)")
            )


def drop_search_index(connection: Connection) -> None:
    """Remove the search index (the extension stays: other objects may use it)."""
    if connection.dialect.name == "sqlite":
        for statement in _SQLITE_DROP:
            connection.exec_driver_sql(statement)
    elif connection.dialect.name == "postgresql":
        for name in POSTGRES_INDEXES:
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))


def refresh_contact(connection: Connection, contact_id: int) -> None:
    """Recompute one contact's numbers in the SQLite index, for a write its triggers do not
    see: conversations moved to the contact by a merge (PostgreSQL's indexes are on the
    tables themselves and need nothing)."""
    if connection.dialect.name == "sqlite":
        connection.execute(
            text(
                f"UPDATE {SEARCH_CONTACTS} SET numbers = {_NUMBERS_OF.format(contact=':id')} "
                "WHERE rowid = :id"
            ),
            {"id": contact_id},
        )
