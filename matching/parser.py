"""Watch-rule queries as a syntax tree, by recursive descent; users never write regexes.

Grammar, loosest first (NEAR binds tighter than NOT, NOT tighter than AND, AND than OR):

    query     := or_expr
    or_expr   := and_expr ("OR" and_expr)*
    and_expr  := not_expr (["AND"] not_expr)*        words side by side mean AND
    not_expr  := "NOT" not_expr | near_expr
    near_expr := unary ("NEAR/n" unary)*              left to right
    unary     := "ATLEAST/n" unary | ("title:" | "body:") unary | primary
    primary   := "(" or_expr ")" | term | '"' phrase '"' | "@" alias | "@" pack ":" key

A term is a run of characters other than spaces, parentheses and quotes; the text
tokenizer splits it into words, so `K-pop` is the phrase "k pop". A `*` right after a
word makes it a prefix. A quoted phrase matches its words only as written (folded);
unquoted words also match the inflected forms the compiler knows (see compiler.py).
`@country:KP` is a reference to a name pack (see namepacks.py). Operators are upper case (`and`, `or`, `not` are plain words).
NEAR's operands must be positional: terms, phrases, aliases, NEARs, OR-groups of those.

`parse_query` raises `QueryError` at the first syntax error, pointing at its column.
Limits: MAX_QUERY_CHARS characters, MAX_DEPTH levels of nesting, MAX_WORD_CHARS per
word, NEAR/ATLEAST numbers up to MAX_NUMBER.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Union

from config.models import Source
from matching.errors import QueryError
from matching.tokens import find_words, fold_word

MAX_QUERY_CHARS = 4000
MAX_DEPTH = 50
MAX_WORD_CHARS = 100
MAX_NUMBER = 1000
FIELDS = ("title", "body")

_QUOTES = {'"': '"', "“": "”", "„": "“"}
_CHUNK_RE = re.compile(r"[^\s()\"“”„]+")
_NUMBERED_RE = re.compile(r"(NEAR|ATLEAST)(?:/(\d*))?$")
_FIELD_RE = re.compile(r"([A-Za-z]+):")
_ALIAS_RE = re.compile(r"@([\w-]+(?::[\w-]+)?)$")


@dataclass(frozen=True)
class QueryWord:
    """One folded query word; `prefix` when written with a trailing `*`; `exact` when
    written inside quotes (only this form matches, never its inflected forms)."""

    text: str
    prefix: bool = False
    exact: bool = False


@dataclass(frozen=True)
class Term:
    """A word, or a phrase of consecutive words."""

    words: tuple[QueryWord, ...]
    column: int


@dataclass(frozen=True)
class AliasRef:
    name: str
    column: int


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]
    column: int


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]
    column: int


@dataclass(frozen=True)
class Not:
    child: "Node"
    column: int


@dataclass(frozen=True)
class Near:
    left: "Node"
    right: "Node"
    distance: int
    column: int


@dataclass(frozen=True)
class AtLeast:
    count: int
    child: "Node"
    column: int


@dataclass(frozen=True)
class Field:
    name: str
    child: "Node"
    column: int


Node = Union[Term, AliasRef, And, Or, Not, Near, AtLeast, Field]


@dataclass(frozen=True)
class Lexeme:
    """One token of a query: kind is '(', ')', 'term', 'phrase', 'alias', 'field', an operator, or 'end'."""

    kind: str
    text: str
    column: int
    number: int = 0


class WordError(ValueError):
    """A term has no searchable word or a misplaced wildcard; `offset` is 0-based in the term."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message = message
        self.offset = offset


def read_words(text: str, exact: bool = False) -> tuple[QueryWord, ...]:
    """Split a term or phrase into folded query words, as the text tokenizer would."""
    spans = list(find_words(text))
    check_wildcards(text, spans)
    if not spans:
        raise WordError(f"{text!r} has no letters or digits to search for", 0)
    for start, end in spans:
        if end - start > MAX_WORD_CHARS:
            raise WordError(f"a word longer than {MAX_WORD_CHARS} characters cannot be searched", start)
    return tuple(QueryWord(fold_word(text[start:end]), text[end : end + 1] == "*", exact) for start, end in spans)


def check_wildcards(text: str, spans: list[tuple[int, int]]) -> None:
    """A `*` may only end a word: `missile*`, not `*missile`, `mis*le` or `**`."""
    starts = {start for start, _ in spans}
    ends = {end for _, end in spans}
    for offset, char in enumerate(text):
        if char == "*" and (offset not in ends or offset + 1 in starts):
            raise WordError("'*' only goes at the end of a word, as in missile*", offset)


def parse_query(query: str, rule: str = "", source: Source | None = None) -> Node:
    """The syntax tree of `query`; raises QueryError naming `rule` on the first problem."""
    return _Parser(query, rule, source).parse()


class _Parser:
    def __init__(self, query: str, rule: str, source: Source | None):
        self.query = query
        self.rule = rule
        self.source = source
        self.lexemes: list[Lexeme] = []
        self.position = 0
        self.depth = 0
        self.pending: Lexeme | None = None  # the last operator still waiting for an operand

    def fail(self, message: str, column: int) -> QueryError:
        return QueryError(self.rule, message, column, self.query, self.source)

    def parse(self) -> Node:
        if len(self.query) > MAX_QUERY_CHARS:
            raise self.fail(f"the query has {len(self.query)} characters; the limit is {MAX_QUERY_CHARS:,}", MAX_QUERY_CHARS + 1)
        if not self.query.strip():
            raise self.fail("the query is empty; write at least one word", 1)
        self.lexemes = list(self.lex())
        node = self.parse_or()
        current = self.peek()
        if current.kind == ")":
            raise self.fail("unmatched ')'; remove it or add a '(' before it", current.column)
        return node

    # lexing

    def lex(self) -> Iterator[Lexeme]:
        index = 0
        while index < len(self.query):
            char = self.query[index]
            if char.isspace():
                index += 1
            elif char in "()":
                yield Lexeme(char, char, index + 1)
                index += 1
            elif char in _QUOTES:
                yield self.lex_phrase(index)
                index = self.query.index(_QUOTES[char], index + 1) + 1
            else:
                chunk = _CHUNK_RE.match(self.query, index)
                if chunk is None:  # a closing curly quote on its own
                    raise self.fail(f"unexpected {char!r}; quotes come in pairs", index + 1)
                yield from self.lex_chunk(chunk.group(), index + 1)
                index = chunk.end()
        yield Lexeme("end", "", len(self.query) + 1)

    def lex_phrase(self, index: int) -> Lexeme:
        close = self.query.find(_QUOTES[self.query[index]], index + 1)
        if close == -1:
            raise self.fail("this quote is never closed; add the closing quote", index + 1)
        return Lexeme("phrase", self.query[index + 1 : close], index + 2)

    def lex_chunk(self, chunk: str, column: int) -> Iterator[Lexeme]:
        numbered = _NUMBERED_RE.match(chunk)
        field = _FIELD_RE.match(chunk)
        if chunk in ("AND", "OR", "NOT"):
            yield Lexeme(chunk, chunk, column)
        elif numbered:
            yield self.lex_numbered(numbered, column)
        elif chunk.startswith("@"):
            yield self.lex_alias(chunk, column)
        elif field:
            yield self.lex_field(field.group(1), column)
            if len(chunk) > field.end():
                yield from self.lex_chunk(chunk[field.end() :], column + field.end())
        else:
            yield Lexeme("term", chunk, column)

    def lex_numbered(self, numbered: re.Match[str], column: int) -> Lexeme:
        operator, digits = numbered.groups()
        if not digits:
            raise self.fail(f"{operator} needs a number, as in {operator}/5", column)
        if not 0 < int(digits) <= MAX_NUMBER and not (operator == "NEAR" and int(digits) == 0):
            raise self.fail(f"{operator}/{digits}: the number must be between 1 and {MAX_NUMBER}", column)
        return Lexeme(operator, numbered.group(), column, int(digits))

    def lex_alias(self, chunk: str, column: int) -> Lexeme:
        alias = _ALIAS_RE.match(chunk)
        if alias is None:
            raise self.fail(f"{chunk!r} is not an alias name: use letters, digits, '-' and '_' after '@' "
                            "(or @pack:KEY, as in @country:KP)", column)
        return Lexeme("alias", alias.group(1), column)

    def lex_field(self, name: str, column: int) -> Lexeme:
        if name.lower() not in FIELDS:
            raise self.fail(f"unknown field '{name}:'; the fields are title: and body: (quote the text to search for it)", column)
        return Lexeme("field", name.lower(), column)

    # parsing

    def peek(self) -> Lexeme:
        return self.lexemes[self.position]

    def take(self) -> Lexeme:
        lexeme = self.lexemes[self.position]
        self.position += 1
        return lexeme

    def nest(self, lexeme: Lexeme) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the query nests deeper than {MAX_DEPTH} levels", lexeme.column)

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == "OR":
            self.pending = self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children), column_of(children[0]))

    def parse_and(self) -> Node:
        children = [self.parse_not()]
        while self.peek().kind in ("AND", "NOT", "ATLEAST", "field", "(", "term", "phrase", "alias"):
            if self.peek().kind == "AND":
                self.pending = self.take()
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else And(tuple(children), column_of(children[0]))

    def parse_not(self) -> Node:
        if self.peek().kind != "NOT":
            return self.parse_near()
        operator = self.pending = self.take()
        self.nest(operator)
        child = self.parse_not()
        self.depth -= 1
        return Not(child, operator.column)

    def parse_near(self) -> Node:
        node = self.parse_unary()
        while self.peek().kind == "NEAR":
            operator = self.pending = self.take()
            right = self.parse_unary()
            self.check_positional(node, operator, "before")
            self.check_positional(right, operator, "after")
            node = Near(node, right, operator.number, operator.column)
        return node

    def check_positional(self, node: Node, operator: Lexeme, side: str) -> None:
        if not is_positional(node):
            raise self.fail(
                f"{operator.text} needs a word, phrase, @alias or an (… OR …) group of those {side} it",
                column_of(node),
            )

    def parse_unary(self) -> Node:
        lexeme = self.peek()
        if lexeme.kind not in ("ATLEAST", "field"):
            return self.parse_primary()
        self.pending = self.take()
        self.nest(lexeme)
        child = self.parse_unary()
        self.depth -= 1
        if lexeme.kind == "field":
            return Field(lexeme.text, child, lexeme.column)
        if not is_positional(child):
            raise self.fail(f"{lexeme.text} counts a word, phrase or @alias; put one right after it", column_of(child))
        return AtLeast(lexeme.number, child, lexeme.column)

    def parse_primary(self) -> Node:
        lexeme = self.peek()
        if lexeme.kind == "(":
            return self.parse_group()
        if lexeme.kind not in ("term", "phrase", "alias"):
            raise self.fail_missing_operand(lexeme)
        self.take()
        self.pending = None
        if lexeme.kind == "alias":
            return AliasRef(lexeme.text, lexeme.column)
        return Term(self.read_term(lexeme), lexeme.column)

    def parse_group(self) -> Node:
        opening = self.take()
        self.nest(opening)
        self.pending = opening
        node = self.parse_or()
        if self.peek().kind != ")":
            raise self.fail("this '(' is never closed; add a ')'", opening.column)
        self.take()
        self.depth -= 1
        return node

    def read_term(self, lexeme: Lexeme) -> tuple[QueryWord, ...]:
        try:
            return read_words(lexeme.text, exact=lexeme.kind == "phrase")
        except WordError as error:
            raise self.fail(error.message, lexeme.column + error.offset) from None

    def fail_missing_operand(self, lexeme: Lexeme) -> QueryError:
        """Name the real problem when an operand was expected but `lexeme` came."""
        pending = self.pending
        if lexeme.kind == "NOT" and pending is not None:
            return self.fail(f"NOT cannot come right after '{pending.text}'; use parentheses or put NOT first", lexeme.column)
        if pending is not None and pending.kind == "(":
            if lexeme.kind == ")":
                return self.fail("empty parentheses; put a word inside or remove them", pending.column)
            if lexeme.kind == "end":
                return self.fail("this '(' is never closed; add a ')'", pending.column)
        if pending is not None and pending.kind != "(":
            return self.fail(f"'{pending.text}' has nothing after it; add a word or remove it", pending.column)
        if lexeme.kind == ")":
            return self.fail("unmatched ')'; remove it or add a '(' before it", lexeme.column)
        return self.fail(f"'{lexeme.text}' has nothing before it; add a word or remove it", lexeme.column)


def is_positional(node: Node) -> bool:
    """True for nodes that match at places in the text (NEAR and ATLEAST need them)."""
    if isinstance(node, (Term, AliasRef, Near)):
        return True
    if isinstance(node, Or):
        return all(is_positional(child) for child in node.children)
    if isinstance(node, Field):
        return is_positional(node.child)
    return False


def column_of(node: Node) -> int:
    """Where a node starts in the query (1-based)."""
    if isinstance(node, Near):
        return column_of(node.left)
    return node.column
