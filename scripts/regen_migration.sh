#!/usr/bin/env bash
# Regenerate inbox/migrations/versions/0001_initial.py from the current models.
# Only while nothing is released: a database made from an older 0001_initial must be recreated
# (delete .inbox-data/inbox.db, or drop the PostgreSQL database) after running this.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "no .venv: run ./scripts/test or ./scripts/dev once first" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -f inbox/migrations/versions/0001_initial.py
# Autogenerate compares the models with an empty database, so every table is created.
INBOX_DATABASE_URL="sqlite:///$tmp/empty.db" .venv/bin/alembic -c inbox/alembic.ini \
    revision --autogenerate --rev-id 0001_initial -m "initial schema"
echo "wrote inbox/migrations/versions/0001_initial.py; check it with:"
echo "  .venv/bin/pytest tests/test_migrations.py"
