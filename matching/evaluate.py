"""Compiled query nodes: the one place that decides whether a rule hits a document.

Phrase results are memoised per document, so rules sharing a phrase find it once; so are
NEAR results, which the explanation asks for again.
Every node answers `evaluate(document, scope)`: None when it does not hold, else a
list of spans. A span is (start, end) of word positions, end exclusive. Positional
nodes (phrases, alternatives, NEAR) return where they match; boolean nodes (AND,
NOT, ATLEAST, fields) return what their parts returned, possibly nothing (`NOT x`
holding gives []). `evidence(document, scope)` answers the same question in the same
walk as the explanation needs it: None exactly when `evaluate` gives None, else the
spans of the matched words themselves (NEAR gives its two sides, not the words
between), which the explanation marks. A rule hits when its root's evidence is not None.

`clauses()` is the prefilter's proof obligation: sets of pattern ids such that every
document the node holds on contains at least one id of each set (no sets: no
obligation, as for `NOT x`). Every word of a phrase is a clause; AND and NEAR join
their parts' clauses; OR combines one clause of each alternative (all combinations
while there are at most MAX_CLAUSES, else the union of everything).

NEAR/n holds for a span of each side, in either order, not overlapping, with at most
n words between them. ATLEAST/n counts distinct start positions. On long lists of
spans (1 MB of one word) NEAR pairs them in C-level passes rather than one by one.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from itertools import accumulate, chain, compress, product, repeat
from operator import add, itemgetter, sub

from matching.document import Document, Scope

Span = tuple[int, int]
Clauses = tuple[frozenset[int], ...]  # of each set, one pattern id must occur
MAX_CLAUSES = 16
MAX_EVIDENCE_PER_PHRASE = 200  # the first places of a phrase are enough to explain a hit
PAIR_IN_BULK = 64  # NEAR sides with more spans than this are paired in C-level passes
_FAR = 1 << 62  # farther than any position


GAP = -1  # in a pack name's phrase: any one word (a function word such as "of", "i")


@dataclass(frozen=True)
class Phrase:
    """Consecutive words, each a pattern id (a single word is a phrase of one); in the
    names of packs a GAP stands for any one word ("Bośnia i Hercegowina"), so the most
    common words of every language need not be indexed. The first id is never a GAP."""

    patterns: tuple[int, ...]

    def evaluate(self, document: Document, scope: Scope) -> list[Span] | None:
        key = (self.patterns, scope)
        if key not in document.phrases:
            document.phrases[key] = self.find(document, scope)
        return document.phrases[key]

    def find(self, document: Document, scope: Scope) -> list[Span] | None:
        starts = document.positions_in(self.patterns[0], scope)
        size = len(self.patterns)
        if size > 1 and starts:
            valid = set(starts)
            for offset, pattern in enumerate(self.patterns[1:], 1):
                if pattern != GAP:
                    valid.intersection_update(map(offset.__rsub__, document.positions.get(pattern, ())))
            starts = sorted(valid)
            if self.patterns[-1] == GAP:
                starts = [start for start in starts if document.holds_word(start + size - 1)]
        return list(zip(starts, map(add, starts, repeat(size)))) or None

    def evidence(self, document: Document, scope: Scope) -> list[Span] | None:
        spans = self.evaluate(document, scope)
        return None if spans is None else spans[:MAX_EVIDENCE_PER_PHRASE]

    def patterns_used(self) -> set[int]:
        return set(self.patterns) - {GAP}

    def clauses(self) -> Clauses:
        return tuple(frozenset({pattern}) for pattern in dict.fromkeys(self.patterns) if pattern != GAP)


@dataclass(frozen=True)
class AnyOf:
    """OR, and the entries of an alias: holds when one part does."""

    children: tuple["EvalNode", ...]

    def evaluate(self, document: Document, scope: Scope) -> list[Span] | None:
        results = [found for child in self.children if (found := child.evaluate(document, scope)) is not None]
        if not results:
            return None
        return results[0] if len(results) == 1 else sorted(chain.from_iterable(results))

    def evidence(self, document: Document, scope: Scope) -> list[Span] | None:
        found = [spans for child in self.children if (spans := child.evidence(document, scope)) is not None]
        return list(chain.from_iterable(found)) if found else None

    def patterns_used(self) -> set[int]:
        return set().union(*(child.patterns_used() for child in self.children))

    def clauses(self) -> Clauses:
        return either_of([child.clauses() for child in self.children])


@dataclass(frozen=True, eq=False)
class Names:
    """The names of a pack entry (`@country:KP`): an OR of hundreds of phrases, so only
    the phrases whose first word occurs are looked at, once per document (one node is
    shared by every rule naming the same entry). `marker` is a vocabulary marker set by
    the rarest-looking word of each phrase: a document holds it wherever a name occurs
    (the prefilter's clause, one id however many names)."""

    children: tuple[Phrase, ...]
    marker: int | None

    def __post_init__(self) -> None:
        firsts: dict[int, list[Phrase]] = {}
        for child in self.children:
            firsts.setdefault(child.patterns[0], []).append(child)
        object.__setattr__(self, "firsts", firsts)
        object.__setattr__(self, "used", frozenset(p for child in self.children for p in child.patterns if p != GAP))

    def present(self, document: Document) -> list[Phrase]:
        firsts = self.firsts  # type: ignore[attr-defined]
        return [phrase for first in firsts.keys() & document.positions.keys() for phrase in firsts[first]]

    def evaluate(self, document: Document, scope: Scope) -> list[Span] | None:
        key = (id(self), scope)  # the rule set keeps every node alive while documents exist
        if key not in document.nears:
            document.nears[key] = AnyOf(tuple(self.present(document))).evaluate(document, scope)
        return document.nears[key]

    def evidence(self, document: Document, scope: Scope) -> list[Span] | None:
        return AnyOf(tuple(self.present(document))).evidence(document, scope)

    def patterns_used(self) -> set[int]:
        return set(self.used)  # type: ignore[attr-defined]

    def clauses(self) -> Clauses:
        return () if self.marker is None else (frozenset({self.marker}),)


@dataclass(frozen=True)
class AllOf:
    """AND: holds when every part does."""

    children: tuple["EvalNode", ...]

    def evaluate(self, document: Document, scope: Scope) -> list[Span] | None:
        spans: list[Span] = []
        for child in self.children:
            found = child.evaluate(document, scope)
            if found is None:
                return None
            spans.extend(found)
        return spans

    def evidence(self, document: Document, scope: Scope) -> list[Span] | None:
        spans: list[Span] = []
        for child in self.children:
            found = child.evidence(document, scope)
            if found is None:
                return None
            spans.extend(found)
        return spans

    def patterns_used(self) -> set[int]:
        return set().union(*(child.patterns_used() for child in self.children))

    def clauses(self) -> Clauses:
        return tuple(dict.fromkeys(clause for child in self.children for clause in child.clauses()))


@dataclass(frozen=True)
class Without:
    """NOT: holds when its part does not."""

    child: "EvalNode"

    def evaluate(self, document: Document, scope: Scope) -> list[Span] | None:
        return [] if self.child.evaluate(document, scope) is None else None

    def evidence(self, document: Document, scope: Scope) -> list[Span] | None:
        return self.evaluate(document, scope)

    def patterns_used(self) -> set[int]:
        return self.child.patterns_used()

    def clauses(self) -> Clauses:
        return ()


@dataclass(frozen=True)
class InField:
    """title:(...) and body:(...): the part, looked for in one field only."""

    name: str
    child: "EvalNode"

    def narrow(self, document: Document, scope: Scope) -> Scope:
        low, high = document.scope_of(self.name)
        return (max(low, scope[0]), min(high, scope[1]))

    def evaluate(self, document: Document, scope: Scope) -> list[Span] | None:
        return self.child.evaluate(document, self.narrow(document, scope))

    def evidence(self, document: Document, scope: Scope) -> list[Span] | None:
        return self.child.evidence(document, self.narrow(document, scope))

    def patterns_used(self) -> set[int]:
        return self.child.patterns_used()

    def clauses(self) -> Clauses:
        return self.child.clauses()


@dataclass(frozen=True)
class AtLeast:
    """ATLEAST/n: the part occurs at n or more distinct places."""

    count: int
    child: "EvalNode"

    def evaluate(self, document: Document, scope: Scope) -> list[Span] | None:
        spans = self.child.evaluate(document, scope)
        if spans is None or len({start for start, _ in spans}) < self.count:
            return None
        return spans

    def evidence(self, document: Document, scope: Scope) -> list[Span] | None:
        return None if self.evaluate(document, scope) is None else self.child.evidence(document, scope)

    def patterns_used(self) -> set[int]:
        return self.child.patterns_used()

    def clauses(self) -> Clauses:
        return self.child.clauses()


@dataclass(frozen=True)
class Near:
    """A NEAR/n B: covering spans of each A with its closest B before and after it."""

    left: "EvalNode"
    right: "EvalNode"
    distance: int

    def evaluate(self, document: Document, scope: Scope) -> list[Span] | None:
        key = (id(self), scope)  # the rule set keeps every node alive while documents exist
        if key not in document.nears:
            document.nears[key] = self.find(document, scope)
        return document.nears[key]

    def find(self, document: Document, scope: Scope) -> list[Span] | None:
        left = self.left.evaluate(document, scope)
        right = self.right.evaluate(document, scope) if left else None
        if not left or not right:
            return None
        return pair_spans(left, right, self.distance) or None

    def evidence(self, document: Document, scope: Scope) -> list[Span] | None:
        covering = self.evaluate(document, scope)
        if covering is None:
            return None
        leaves = self.left.evidence(document, scope) + self.right.evidence(document, scope)  # both sides hold
        return keep_inside(leaves, covering)

    def patterns_used(self) -> set[int]:
        return self.left.patterns_used() | self.right.patterns_used()

    def clauses(self) -> Clauses:
        return tuple(dict.fromkeys(self.left.clauses() + self.right.clauses()))


EvalNode = Phrase | AnyOf | Names | AllOf | Without | InField | AtLeast | Near


def either_of(alternatives: list[Clauses]) -> Clauses:
    """Clauses that hold when any one alternative's clauses do."""
    if not all(alternatives):
        return ()
    combinations = 1
    for clauses in alternatives:
        combinations *= len(clauses)
    if combinations > MAX_CLAUSES:
        return (frozenset().union(*(clause for clauses in alternatives for clause in clauses)),)
    return tuple(dict.fromkeys(frozenset().union(*choice) for choice in product(*alternatives)))


def pair_spans(left: list[Span], right: list[Span], distance: int) -> list[Span]:
    """Covering spans of each left span with its nearest non-overlapping right span on
    either side, when at most `distance` words lie between them."""
    if len(left) > PAIR_IN_BULK:
        return pair_spans_in_bulk(left, right, distance)
    by_start = sorted(right)
    starts = [start for start, _ in by_start]
    by_end = sorted(right, key=lambda span: span[1])
    ends = [end for _, end in by_end]
    found = set()
    for start, end in left:
        after = bisect.bisect_left(starts, end)
        if after < len(starts) and starts[after] - end <= distance:
            found.add((start, by_start[after][1]))
        before = bisect.bisect_right(ends, start) - 1
        if before >= 0 and start - ends[before] <= distance:
            found.add((by_end[before][0], end))
    return sorted(found)


def pair_spans_in_bulk(left: list[Span], right: list[Span], distance: int) -> list[Span]:
    """`pair_spans` as a few C-level passes over the spans (same answer)."""
    first, second = itemgetter(0), itemgetter(1)
    by_start = sorted(right)
    starts = list(map(first, by_start))
    after_ends = list(map(second, by_start)) + [_FAR]
    by_end = sorted(right, key=second)
    ends = list(map(second, by_end))
    before_starts = [-_FAR] + list(map(first, by_end))
    before_ends = [-_FAR] + ends
    lefts, rights = list(map(first, left)), list(map(second, left))
    # nearest right span starting at or after each left end
    after = list(map(bisect.bisect_left, repeat(starts), rights))
    starts.append(_FAR)
    near = list(map(distance.__ge__, map(sub, map(starts.__getitem__, after), rights)))
    found = set(zip(compress(lefts, near), compress(map(after_ends.__getitem__, after), near)))
    # nearest right span ending at or before each left start (index shifted by the pad)
    before = list(map(bisect.bisect_right, repeat(ends), lefts))
    near = list(map(distance.__ge__, map(sub, lefts, map(before_ends.__getitem__, before))))
    found.update(zip(compress(map(before_starts.__getitem__, before), near), compress(rights, near)))
    return sorted(found)


def keep_inside(leaves: list[Span], covering: list[Span]) -> list[Span]:
    """The leaves that lie inside one of the (sorted) covering spans."""
    starts = [start for start, _ in covering]
    reach = list(accumulate((end for _, end in covering), max))
    inside = []
    for leaf in leaves:
        index = bisect.bisect_right(starts, leaf[0]) - 1
        if index >= 0 and reach[index] >= leaf[1]:
            inside.append(leaf)
    return inside
