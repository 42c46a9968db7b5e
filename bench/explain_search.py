"""The plans of a search's statements (issue 19), on a database bench_search.py filled (PostgreSQL) or
any Strongroom database: each statement `engine.search` runs is captured and run again under EXPLAIN
(ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite.

    .venv/bin/python bench/explain_search.py postgresql+psycopg://postgres@127.0.0.1:5432/strongroom_search \
        --email dc@force.police.test --q w07 [--where 'exhibit.bag = "B7"'] [--kind file]
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session

from strongroom.identity import groups, users
from strongroom.search import engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--email", default="dc@force.police.test")
    parser.add_argument("--q", default="")
    parser.add_argument("--where", default="")
    parser.add_argument("--kind", action="append", default=[])
    args = parser.parse_args()
    db = create_engine(args.url)
    captured: list[tuple[str, Any]] = []

    @event.listens_for(db, "before_cursor_execute")
    def _capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if "matched" in statement:
            captured.append((statement, parameters))

    with Session(db) as session:
        user = session.scalar(select(users.User).where(users.User.email == args.email))
        assert user is not None, "no such user"
        actor = users.actor_for(user, group_ids=groups.group_ids_of(session, user.id))
        request = engine.SearchRequest(q=args.q, where=args.where, kinds=args.kind)
        result = engine.search(session, actor, request)
        print(f"total {result.total:,}; {len(result.hits)} hits on the page")
    event.remove(db, "before_cursor_execute", _capture)
    postgres = db.dialect.name == "postgresql"
    with db.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        if postgres:
            raw.cursor().execute("SET jit = off")  # as engine.search does
        for statement, parameters in captured:
            cursor = raw.cursor()
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
            cursor.execute(prefix + statement, parameters)
            print("\n---- " + statement.strip().splitlines()[-1][:100])
            for row in cursor.fetchall():
                print(row[0] if postgres else f"{row[1]:>4} {row[3]}")


if __name__ == "__main__":
    main()
