"""The metadata query language: small, and compiled to SQL with bound parameters only.

    case.urn = "01YE1234524" AND exhibit.seized_at BETWEEN 2026-01-01 AND 2026-06-30
    kind = file AND NOT classification IN ("SECRET") OR size >= :min_size
    case.offence ~ "burglary"            (contains, any case)

Fields are `template.field` (metadata) or a built-in (name, kind, classification, type, size, created,
updated). Values are quoted strings, numbers, dates (YYYY-MM-DD), bare words, or `:name` parameters
given beside the query. Operators: = != < <= > >= ~ IN (...) BETWEEN x AND y; AND, OR, NOT, brackets.
Nothing the user types becomes SQL text: field names are checked against a fixed list or a pattern and
then bound, like every value. Limits on length, depth and list sizes keep a query cheap to compile.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Float, String, bindparam
from sqlalchemy.sql.elements import BindParameter

from strongroom.db.base import UTCDateTime
from strongroom.errors import QueryInvalid

MAX_LENGTH = 2000
MAX_DEPTH = 16
MAX_TERMS = 64
MAX_LIST = 100
BUILTIN_TEXT = {
    "name": "i.name",
    "kind": "i.kind",
    "classification": "i.classification",
    "type": "i.content_type",
}
BUILTIN_NUMBER = {"size": "i.size"}
BUILTIN_DATE = {"created": "i.created_at", "updated": "i.updated_at"}
KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<date>\d{4}-\d{2}-\d{2}(?![\w.-]))
    |(?P<num>-?\d+(?:\.\d+)?(?![\w.]))|(?P<param>:[A-Za-z_]\w{0,63})|(?P<op><=|>=|!=|=|<|>|~|\(|\)|,)
    |(?P<word>[A-Za-z_][\w.-]{0,200}))""",
    re.VERBOSE,
)
_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class Compiled:
    """A WHERE fragment over the item table (alias `i`) and its bound parameters."""

    sql: str
    params: list[BindParameter[Any]] = field(default_factory=list)


@dataclass
class _Token:
    kind: str
    text: str
    at: int


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    at = 0
    while at < len(source):
        if source[at:].strip() == "":
            break
        match = _TOKEN.match(source, at)
        if match is None or match.lastgroup is None:
            raise QueryInvalid(f"cannot read the query at character {at + 1}", at=at)
        tokens.append(_Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        at = match.end()
    return tokens


class _Compiler:
    def __init__(self, source: str, values: dict[str, object]) -> None:
        if len(source) > MAX_LENGTH:
            raise QueryInvalid(f"the query is longer than {MAX_LENGTH} characters")
        self.tokens = _tokens(source)
        if len(self.tokens) > MAX_TERMS * 4:
            raise QueryInvalid("the query has too many terms")
        self.values = values
        self.pos = 0
        self.params: list[BindParameter[Any]] = []

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.upper() == word:
            self.pos += 1
            return True
        return False

    def take(self, what: str) -> _Token:
        token = self.peek()
        if token is None:
            raise QueryInvalid(f"the query ends where {what} was expected")
        self.pos += 1
        return token

    def expect_op(self, text: str) -> None:
        token = self.take(f"'{text}'")
        if token.kind != "op" or token.text != text:
            raise QueryInvalid(f"expected '{text}' at character {token.at + 1}", at=token.at)

    def compile(self) -> Compiled:
        sql = self.disjunction(0)
        token = self.peek()
        if token is not None:
            raise QueryInvalid(f"unexpected '{token.text[:40]}' at character {token.at + 1}", at=token.at)
        return Compiled(sql, self.params)

    def disjunction(self, depth: int) -> str:
        parts = [self.conjunction(depth)]
        while self.keyword("OR"):
            parts.append(self.conjunction(depth))
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def conjunction(self, depth: int) -> str:
        parts = [self.negation(depth)]
        while self.keyword("AND"):
            parts.append(self.negation(depth))
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def negation(self, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise QueryInvalid(f"the query nests deeper than {MAX_DEPTH}")
        if self.keyword("NOT"):
            return f"NOT ({self.negation(depth + 1)})"
        token = self.peek()
        if token is not None and token.kind == "op" and token.text == "(":
            self.pos += 1
            inner = self.disjunction(depth + 1)
            self.expect_op(")")
            return inner
        return self.comparison()

    def value(self) -> object:
        token = self.take("a value")
        if token.kind == "str":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "num":
            return float(token.text)
        if token.kind == "date":
            try:
                return date.fromisoformat(token.text)
            except ValueError:
                raise QueryInvalid(f"'{token.text}' is not a date", at=token.at) from None
        if token.kind == "param":
            name = token.text[1:]
            if name not in self.values:
                raise QueryInvalid(f"no value was given for :{name}", at=token.at)
            given = self.values[name]
            if isinstance(given, bool) or not isinstance(given, str | int | float):
                raise QueryInvalid(f":{name} must be a string or a number", at=token.at)
            return float(given) if isinstance(given, int | float) else given
        if token.kind == "word" and token.text.upper() not in {"AND", "OR", "NOT", "IN", "BETWEEN"}:
            return token.text
        raise QueryInvalid(f"expected a value at character {token.at + 1}", at=token.at)

    def bind(self, value: object, column: str) -> str:
        name = f"w{len(self.params)}"
        if column in BUILTIN_DATE.values():
            when = value if isinstance(value, date) else _date_of(value)
            moment = datetime(when.year, when.month, when.day, tzinfo=UTC)
            self.params.append(bindparam(name, moment, type_=UTCDateTime()))
        elif isinstance(value, float):
            self.params.append(bindparam(name, value, type_=Float()))
        else:
            text = value.isoformat() if isinstance(value, date) else str(value)
            self.params.append(bindparam(name, text[:1000], type_=String()))
        return f":{name}"

    def comparison(self) -> str:
        token = self.take("a field")
        if token.kind != "word":
            raise QueryInvalid(f"expected a field name at character {token.at + 1}", at=token.at)
        field_name = token.text.lower()
        if self.keyword("IN"):
            self.expect_op("(")
            items = [self.value()]
            while (nxt := self.peek()) is not None and nxt.kind == "op" and nxt.text == ",":
                self.pos += 1
                items.append(self.value())
                if len(items) > MAX_LIST:
                    raise QueryInvalid(f"a list holds at most {MAX_LIST} values")
            self.expect_op(")")
            return self.test(
                field_name, lambda col: f"{col} IN ({', '.join(self.bind(v, col) for v in items)})", items[0]
            )
        if self.keyword("BETWEEN"):
            low = self.value()
            if not self.keyword("AND"):
                raise QueryInvalid("BETWEEN needs 'low AND high'")
            high = self.value()
            return self.test(
                field_name, lambda col: f"{col} BETWEEN {self.bind(low, col)} AND {self.bind(high, col)}", low
            )
        op = self.take("an operator")
        if op.kind != "op" or op.text not in {*_OPS, "~"}:
            raise QueryInvalid(f"expected an operator at character {op.at + 1}", at=op.at)
        value = self.value()
        if op.text == "~":
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", str(value)).lower() + "%"
            return self.test(
                field_name, lambda col: f"lower({col}) LIKE {self.bind(pattern, 'text')} ESCAPE '\\'", ""
            )
        return self.test(field_name, lambda col: f"{col} {_OPS[op.text]} {self.bind(value, col)}", value)

    def test(self, field_name: str, condition: Any, sample: object) -> str:
        for columns in (BUILTIN_TEXT, BUILTIN_NUMBER, BUILTIN_DATE):
            if field_name in columns:
                if columns is BUILTIN_NUMBER and not isinstance(sample, float):
                    raise QueryInvalid(f"{field_name} is compared with numbers")
                return str(condition(columns[field_name]))
        template_key, _, key = field_name.partition(".")
        if not (KEY.fullmatch(template_key) and KEY.fullmatch(key)):
            raise QueryInvalid(f"'{field_name[:80]}' is not a field: use template.field or a built-in")
        column = "mv.number_value" if isinstance(sample, float) else "mv.text_value"
        # IN, not a correlated EXISTS: the planner may then start from the value index and test only the
        # items that match, rather than test every visible item (item_id is never NULL, so NOT IN is safe).
        return (
            "i.id IN (SELECT mv.item_id FROM metadata_value mv WHERE"
            f" mv.template_key = {self.bind(template_key, 'text')}"
            f" AND mv.field = {self.bind(key, 'text')}"
            f" AND {condition(column)})"
        )


def _date_of(value: object) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise QueryInvalid(f"'{str(value)[:40]}' is not a date (YYYY-MM-DD)") from None


def compile_query(source: str, values: dict[str, object] | None = None) -> Compiled | None:
    """The query as a WHERE fragment over `item i`, or None for an empty query."""
    if not source.strip():
        return None
    return _Compiler(source, values or {}).compile()
