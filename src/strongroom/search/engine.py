"""Search: full text and metadata queries over what the user may see, with facets, snippets and paging.

One SQL statement finds the page, the total and the facets over the matches the user may see
(search/visibility.py, inside the query); snippets are read afterwards only for the page's items.
SQLite uses FTS5 (bm25), PostgreSQL a stored tsvector column with a GIN index (ts_rank). Scores are
ordered ascending (PostgreSQL's rank is negated) so the keyset cursor is (score, id) on both.
"""

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Float, String, bindparam, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from strongroom.actors import Actor
from strongroom.db.base import UTCDateTime
from strongroom.errors import InputError
from strongroom.search.query import compile_query
from strongroom.search.visibility import visibility

# The document's words, parsed once when it is written (migration 0013_search_tsv_column): the GIN
# index is on this column, and recheck and rank read it instead of parsing the text again.
TSV = "d.search_tsv"
MAX_WORDS = 16
MAX_LIMIT = 200
FACET_VALUES = 20


@dataclass
class SearchRequest:
    q: str = ""
    where: str = ""
    params: dict[str, object] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=list)
    classifications: list[str] = field(default_factory=list)
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass
class Hit:
    id: str
    kind: str
    name: str
    parent_id: str | None
    classification: str
    content_type: str | None
    size: int
    updated_at: datetime
    snippet: str | None = None


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    next_cursor: str | None


def _words(q: str) -> list[str]:
    words = re.findall(r"\w+", q.lower())
    if len(words) > MAX_WORDS:
        raise InputError(f"search for at most {MAX_WORDS} words at once")
    return words


def _cursor(score: float, item_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([score, item_id]).encode()).decode()


def _read_cursor(cursor: str) -> tuple[float, str]:
    try:
        score, item_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return float(score), str(item_id)
    except (ValueError, TypeError):
        raise InputError("the cursor is not one this server gave") from None


def _matched(session: Session, actor: Actor, request: SearchRequest) -> tuple[str, list[BindParameter[Any]]]:
    """WITH ... matched(id, ..., score): the CTE text of everything the request finds for the actor."""
    postgres = session.get_bind().dialect.name == "postgresql"
    vis = visibility(actor, sqlite=not postgres)
    params = list(vis.params)
    words = _words(request.q)
    ctes = [vis.ctes]
    source = "item i"
    score = "0.0"
    if words:
        if postgres:
            params.append(bindparam("fts", " & ".join(f"{w}:*" for w in words), type_=String()))
            # The GIN index finds the matches, narrowed to the reached folders' documents inside the
            # index scan (a BitmapAnd), materialised so the planner cannot turn it into a per-visible-item
            # recheck. The rank reads the stored words of these candidates (about the visible matches,
            # not every match) from the rows already fetched. Double precision: a real's text form would
            # not give back the same number in a cursor.
            ctes.append(
                "hits(item_id, score) AS MATERIALIZED (SELECT d.item_id, "
                f"-CAST(ts_rank({TSV}, to_tsquery('simple', :fts)) AS DOUBLE PRECISION) "
                "FROM search_document d "
                f"WHERE {TSV} @@ to_tsquery('simple', :fts) AND {vis.candidate('d', postgres=True)})"
            )
        else:
            params.append(bindparam("fts", " ".join(f'"{w}"*' for w in words), type_=String()))
            ctes.append(
                # FTS5 drives (CROSS JOIN), each match's document gives its folder, and only matches in
                # reached folders go on: bm25 is computed for those alone (in the SELECT list, after the
                # WHERE), and only they are looked up in `item` (20,000 matches, 2,000 visible: 45 ms of
                # CPU instead of 90 ms at 1,000,000 files).
                "hits(item_id, score) AS MATERIALIZED (SELECT d.item_id, bm25(search_fts, 10.0, 1.0) "
                "FROM search_fts CROSS JOIN search_document d ON d.doc_id = search_fts.rowid "
                f"WHERE search_fts MATCH :fts AND {vis.candidate('d')})"
            )
        source = "hits h JOIN item i ON i.id = h.item_id"
        score = "h.score"
        if postgres:
            # From each match to its item by the primary key (LATERAL, OFFSET 0: not flattened): the
            # planner cannot estimate the visibility test and would otherwise hash-join a scan of every
            # item.
            source = "hits h CROSS JOIN LATERAL (SELECT * FROM item WHERE item.id = h.item_id OFFSET 0) i"
    # The words (when given) drive the query, and visibility is tested per match against the small set
    # of reached folders (hashed once), never by probing the full-text index per visible item.
    conditions = [vis.condition]
    compiled = compile_query(request.where, request.params)
    if compiled is not None:
        conditions.append(compiled.sql)
        params.extend(compiled.params)
    if request.kinds:
        params.append(bindparam("f_kinds", request.kinds, expanding=True))
        conditions.append("i.kind IN :f_kinds")
    if request.classifications:
        params.append(bindparam("f_labels", request.classifications, expanding=True))
        conditions.append("i.classification IN :f_labels")
    if request.updated_from is not None:
        params.append(bindparam("f_from", request.updated_from, type_=UTCDateTime()))
        conditions.append("i.updated_at >= :f_from")
    if request.updated_to is not None:
        params.append(bindparam("f_to", request.updated_to, type_=UTCDateTime()))
        conditions.append("i.updated_at < :f_to")
    ctes.append(
        "matched AS MATERIALIZED (SELECT i.id, i.kind, i.name, i.parent_id, i.classification, "
        "i.content_type, i.size, "
        f"i.updated_at, {score} AS score FROM {source} "
        f"WHERE {' AND '.join(conditions)})"
    )
    return "WITH RECURSIVE " + ",\n".join(ctes), params


def search(session: Session, actor: Actor, request: SearchRequest) -> SearchResult:
    postgres = session.get_bind().dialect.name == "postgresql"
    with_sql, params = _matched(session, actor, request)
    limit = max(1, min(request.limit, MAX_LIMIT))
    params.append(bindparam("page_limit", limit + 1))
    keyset = ""
    if request.cursor:
        after_score, after_id = _read_cursor(request.cursor)
        params += [bindparam("k_score", after_score, type_=Float()), bindparam("k_id", after_id)]
        keyset = "WHERE score > :k_score OR (score = :k_score AND id > :k_id)"
    month = "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM')" if postgres else "substr(updated_at, 1, 7)"
    blank = ", ".join(["NULL"] * 9)
    # Metadata values looked up from the matches, never the matches looked up from every value: a
    # LATERAL on PostgreSQL, a LEFT JOIN (which SQLite never reorders) on SQLite.
    values_of_matches = (
        "matched m CROSS JOIN LATERAL (SELECT template_key, field, text_value FROM metadata_value "
        "WHERE item_id = m.id AND text_value IS NOT NULL OFFSET 0) mv"
        if postgres
        else "matched m LEFT JOIN metadata_value mv ON mv.item_id = m.id AND mv.text_value IS NOT NULL"
    )
    # One statement: `matched` (materialised) is found once and gives the page, the total and every
    # facet; the page's rows carry their place (the database's order of ids, not Python's).
    sql = f"""{with_sql}
SELECT 'hit' AS facet, NULL AS value, ROW_NUMBER() OVER (ORDER BY score, id) AS n, id, kind, name, parent_id,
  classification, content_type, size, updated_at, score
  FROM (SELECT * FROM matched {keyset} ORDER BY score, id LIMIT :page_limit) page
UNION ALL SELECT 'total', '', COUNT(*), {blank} FROM matched
UNION ALL SELECT 'kind', kind, COUNT(*), {blank} FROM matched GROUP BY kind
UNION ALL SELECT 'classification', classification, COUNT(*), {blank} FROM matched GROUP BY classification
UNION ALL SELECT 'type', coalesce(content_type, 'folder'), COUNT(*), {blank} FROM matched
  GROUP BY content_type
UNION ALL SELECT 'month', {month}, COUNT(*), {blank} FROM matched GROUP BY {month}
UNION ALL SELECT mv.template_key || '.' || mv.field, mv.text_value, COUNT(DISTINCT m.id), {blank}
  FROM {values_of_matches} GROUP BY mv.template_key, mv.field, mv.text_value"""
    if postgres:
        # For this transaction only. The LATERAL lookups make the estimate large enough for JIT, whose
        # compilation (seconds at 1,000,000 files) costs far more than the query it speeds; and psycopg
        # prepares a statement run five times, after which PostgreSQL may keep a generic plan that
        # cannot see how rare the words are (a rare word went from 13 ms to 500 ms at 1,000,000).
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    facets: dict[str, dict[str, int]] = {}
    total = 0
    page: list[Any] = []
    for row in session.execute(text(sql).bindparams(*params).columns(updated_at=UTCDateTime())):
        facet, value, count = row[:3]
        if facet == "hit":
            page.append(row)
        elif facet == "total":
            total = int(count)
        elif facet is not None:  # None: matches without metadata (the LEFT JOIN keeps SQLite on the matches)
            facets.setdefault(str(facet), {})[str(value)] = int(count)
    rows = sorted(page, key=lambda row: int(row.n))
    hits = [Hit(*row[3:11]) for row in rows[:limit]]
    next_cursor = _cursor(float(rows[limit - 1].score), rows[limit - 1].id) if len(rows) > limit else None
    for facet, counts in facets.items():
        facets[facet] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_VALUES])
    _add_snippets(session, request, hits, postgres=postgres)
    return SearchResult(hits=hits, total=total, facets=facets, next_cursor=next_cursor)


def _add_snippets(session: Session, request: SearchRequest, hits: list[Hit], *, postgres: bool) -> None:
    """Snippets of the body for the page's items only (already permission-checked)."""
    words = _words(request.q)
    if not words or not hits:
        return
    ids: BindParameter[list[str]] = bindparam("ids", [hit.id for hit in hits], expanding=True)
    if postgres:
        fts = bindparam("fts", " & ".join(f"{w}:*" for w in words), type_=String())
        sql = (
            "SELECT d.item_id, ts_headline('simple', d.body, to_tsquery('simple', :fts), "
            "'StartSel=[, StopSel=], MaxWords=20, MinWords=5') FROM search_document d "
            f"WHERE d.item_id IN :ids AND d.body <> '' AND {TSV} @@ to_tsquery('simple', :fts)"
        )
    else:
        fts = bindparam("fts", " ".join(f'"{w}"*' for w in words), type_=String())
        sql = (
            # The page's documents as a set the FTS5 scan tests each match against (`+`: not handed to
            # FTS5 as rowid lookups, each of which would run the whole query again); joined on the
            # match's rowid instead, every match's document was read (50 ms at 1,000,000 files, 3 ms now).
            "SELECT d.item_id, snippet(search_fts, 1, '[', ']', '…', 16) FROM search_fts "
            "CROSS JOIN search_document d ON d.doc_id = search_fts.rowid "
            "WHERE search_fts MATCH :fts AND +search_fts.rowid IN "
            "(SELECT doc_id FROM search_document WHERE item_id IN :ids AND body <> '')"
        )
    snippets = {row[0]: row[1] for row in session.execute(text(sql).bindparams(ids, fts))}
    for hit in hits:
        snippet = snippets.get(hit.id)
        hit.snippet = snippet if snippet and "[" in snippet else None
