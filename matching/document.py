"""One article, tokenised once per `RuleSet.match` call and shared by every rule.

`Vocabulary` holds every distinct query word of a rule set, each with a pattern id:
exact words and prefixes (`missile*`) in dicts, Hangul/Han/Kana words in one
Aho-Corasick automaton (they match inside longer words). A word given inflected forms
(a name of a pack: "россия" with "россии", "россию", ...) is looked up under each of
them, so every form is the same pattern; a quoted word is looked up as written only.

When the rule set has Hangul/Han/Kana words, a run of Han/Kana is cut into words: each
query word in it is a word (cut at its edges, never inside one), and the text between
counts one word per two characters (Korean spaces its words, so a Hangul word stays
whole with its particles). In "朝鲜向俄罗斯提供武器" 朝鲜 is word 0 and 俄罗斯 word 2, so
phrases and NEAR count positions inside runs written without spaces, as between Latin
words.

`Document` splits the title and the body into words, looks each *distinct* word up
once, and keeps, per pattern id, the sorted word positions where it occurs. The work is linear in the text's length
(plus sorting the positions of matched words), and the per-word steps run at C level:
the vocabulary remembers which text words (as written) it has looked up — at most
LOOKUP_CACHE of them — so a document costs Python work only for its new words and for
the places of the words that match a pattern.

Positions are global: title words count from 0, body words from `body_base`, which
leaves a gap wider than any NEAR distance, so no phrase or NEAR spans both fields.
A scope is a (low, high) range of positions: everywhere, the title or the body.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection
from itertools import accumulate, chain, compress, islice, repeat
from operator import eq

import ahocorasick

from matching.models import MatchInput
from matching.parser import MAX_NUMBER, QueryWord
from matching.tokens import ascii_spaced, fold_word, has_cjk, has_han_or_kana, is_cjk, space_pieces, split_pieces

Scope = tuple[int, float]
EVERYWHERE: Scope = (0, float("inf"))
LOOKUP_CACHE = 1 << 18  # text words remembered per vocabulary (then forgotten, all at once)
CJK_WORD_CHARS = 2  # Han/Kana text between query words counts one word per this many characters


class Vocabulary:
    """Every distinct query word of a rule set, numbered."""

    def __init__(self) -> None:
        self.exact: dict[str, int] = {}
        self.prefixes: dict[str, int] = {}
        self.inflected: dict[str, int] = {}
        self.forms: dict[str, list[int]] = {}  # a form (the word itself too) -> inflected pattern ids
        self.cjk: dict[str, int] = {}
        self.prefix_lengths: tuple[int, ...] = ()
        self.cjk_lengths: dict[int, int] = {}
        self.automaton: ahocorasick.Automaton | None = None
        self.weights: list[float] = []
        self.seen: set[str] = set()  # text words looked up so far, as written
        self.known: dict[str, tuple[int, ...]] = {}  # those of them that match a pattern
        self.markers: dict[int, list[int]] = {}  # pattern id -> the markers it sets (see add_marker)
        self.runs: dict[str, list[str] | None] = {}  # words of CJK texts seen; Han/Kana runs as cut

    def __len__(self) -> int:
        return len(self.weights)

    def fresh_copy(self) -> Vocabulary:
        """The same words and ids, sharing every table, with lookup caches of its own."""
        copy = object.__new__(Vocabulary)
        copy.__dict__.update(self.__dict__)
        copy.seen, copy.known, copy.runs = set(), {}, {}
        return copy

    def __getstate__(self) -> dict:
        """What a cached rule set keeps (`matching.cache`): the words, not what documents taught
        the lookup caches, nor the automaton (a C object, rebuilt by `freeze`)."""
        state = dict(self.__dict__)
        state.update(automaton=None, seen=set(), known={}, runs={})
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.cjk:
            self.freeze()

    def add_word(self, word: QueryWord, forms: Collection[str] = ()) -> int:
        """The pattern id of `word`, numbering it if new; an unquoted word with `forms`
        (its other folded forms) also matches each of them."""
        table = self.cjk if is_cjk(word.text) else self.prefixes if word.prefix else self.exact
        if table is self.exact and forms and not word.exact:
            table = self.inflected
        if word.text not in table:
            table[word.text] = len(self)
            self.weights.append((3.0 if table is self.prefixes else 1.0) / (1 + len(word.text)))
            if table is self.inflected:
                for form in {word.text, *forms}:
                    self.forms.setdefault(form, []).append(table[word.text])
        return table[word.text]

    def add_marker(self, patterns: frozenset[int]) -> int:
        """A new id that a document holds whenever it holds any of `patterns` (one test per
        document, so a rule's clause of hundreds of names is checked as one id)."""
        marker = len(self)
        self.weights.append(sum(map(self.weigh, patterns)))
        for pattern in patterns:
            self.markers.setdefault(pattern, []).append(marker)
        return marker

    def weigh(self, pattern: int) -> float:
        """How common a pattern probably is: short words and prefixes match more often."""
        return self.weights[pattern]

    def freeze(self) -> None:
        """Build the lookup structures once all words are in."""
        self.prefix_lengths = tuple(sorted({len(text) for text in self.prefixes}))
        self.cjk_lengths = {pattern: len(text) for text, pattern in self.cjk.items()}
        if self.cjk:
            self.automaton = ahocorasick.Automaton()
            for text, pattern in self.cjk.items():
                self.automaton.add_word(text, pattern)
            self.automaton.make_automaton()

    def patterns_in(self, words: set[str]) -> dict[str, tuple[int, ...]]:
        """The distinct text words (as written) that match patterns, with their ids;
        only words never seen before are folded and looked up."""
        new = words - self.seen
        if new:
            if len(self.seen) + len(new) > LOOKUP_CACHE:
                self.seen.clear()
                self.known.clear()
                new = words
            self.seen.update(new)
            for word in new:
                found = self.look_up(fold_word(word))
                if found:
                    self.known[word] = tuple(found)
        known = self.known
        return {word: known[word] for word in known.keys() & words}

    def look_up(self, word: str) -> list[int]:
        """Pattern ids matching one folded text word."""
        found = []
        exact = self.exact.get(word)
        if exact is not None:
            found.append(exact)
        inflected = self.forms.get(word)
        if inflected is not None:
            found.extend(inflected)
        for length in self.prefix_lengths:
            if length > len(word):
                break
            prefix = self.prefixes.get(word[:length])
            if prefix is not None:
                found.append(prefix)
        if self.automaton is not None and is_cjk(word):
            found.extend({pattern for _, pattern in self.automaton.iter(word)})
        return found

    def cut_runs(self, words: list[str]) -> dict[str, list[str]]:
        """The distinct Han/Kana runs among `words` that are more than one word, each cut
        into words (see `cut_run`); remembered per run."""
        runs = self.runs
        if len(runs) > LOOKUP_CACHE:
            runs.clear()
        for word in set(words) - runs.keys():
            runs[word] = self.cut_run(word) if is_cjk(word) and has_han_or_kana(word) else None
        return {word: runs[word] for word in set(words) if runs[word]}

    def cut_run(self, run: str) -> list[str] | None:
        """`run` cut at the edges of the query words in it, but never inside one (so no
        query word found in the whole run is lost), and the text between them in words of
        CJK_WORD_CHARS characters (a typical Chinese word), so NEAR counts that text by
        its length; None when the run is one such word already."""
        folded = fold_word(run)
        if len(folded) != len(run):
            return None
        lengths = self.cjk_lengths
        hits = [(end + 1 - lengths[pattern], end + 1) for end, pattern in self.automaton.iter(folded)] if self.automaton else []
        covered = bytearray(len(run) + 1)  # 1 inside a query word
        inside = bytearray(len(run) + 1)  # 1 where a cut would split a query word
        for start, end in hits:
            covered[start:end] = b"\x01" * (end - start)
            inside[start + 1 : end] = b"\x01" * (end - start - 1)
        cuts = {edge for hit in hits for edge in hit if 0 < edge < len(run) and not inside[edge]}
        edges = sorted({0, len(run), *cuts})
        parts = []
        for low, high in zip(edges, edges[1:]):
            if covered[low]:
                parts.append(run[low:high])
            else:
                parts.extend(run[at : min(at + CJK_WORD_CHARS, high)] for at in range(low, high, CJK_WORD_CHARS))
        return parts if len(parts) > 1 else None


class FieldText:
    """The words of one field; `base` is the global position of its first word.

    Text that `ascii_spaced` can space out is split into words by C-level string
    methods; other text is cut once into `pieces`, separators and words alternating,
    and its words are every second piece. Word offsets are found on first need (only
    hits need them), in `spaced`: the text with every separator replaced by spaces
    (built from the pieces on first need), padded with a space. A word's offsets are
    found by searching `spaced` for it between spaces, as many times as it occurs
    before (its rank among `places`). Where two words touch (a change of script, so
    `spaced` is None) they are running sums of the pieces' lengths, added up only as
    far as needed."""

    __slots__ = ("name", "text", "base", "spaced", "pieces", "words", "places", "sentence_starts", "lead", "_starts",
                 "_sums")

    def __init__(self, name: str, text: str, base: int, vocabulary: Vocabulary | None = None):
        self.name = name
        self.text = text
        self.base = base
        self.places: dict[str, list[int]] = {}  # global positions of words in every field, see Document
        self.sentence_starts: list[int] | None = None  # filled by the explanation, once
        self.lead: tuple[int, int] | None = None  # the snippet of a hit with no match here, once
        self._starts: dict[str, list[int]] = {}  # character offsets of a word's first places
        self._sums: list[int] = []
        spaced = ascii_spaced(text)
        if spaced is not None:
            self.spaced: str | None = f" {spaced} "
            self.pieces: list[str] = []
            self.words = spaced.split()
        else:
            self.spaced = ""  # built on first need
            self.pieces = split_pieces(text)
            if vocabulary is not None and vocabulary.automaton is not None and has_cjk(text):
                self.pieces = cut_pieces(self.pieces, vocabulary)
            self.words = self.pieces[1::2]

    def offset_of(self, index: int) -> tuple[int, int]:
        """Character offsets of word `index`."""
        if self.spaced == "":
            spaced = space_pieces(self.pieces)
            self.spaced = None if spaced is None else f" {spaced} "
        if self.spaced is None:
            return self.add_up_offset(index)
        return self.search_offset(index)

    def search_offset(self, index: int) -> tuple[int, int]:
        """Offsets of a word of spaced text: the word is found between spaces once for
        each earlier place of it (and those finds are kept for the next call)."""
        word = self.words[index]
        places = self.places.get(word) or group_places((self,), [word])[word]
        rank = bisect.bisect_left(places, self.base + index) - bisect.bisect_left(places, self.base)
        starts = self._starts.setdefault(word, [])
        needle, spaced = f" {word} ", self.spaced or ""
        while len(starts) <= rank:  # in `spaced` the word starts one character later
            starts.append(spaced.find(needle, starts[-1] + len(word) + 1 if starts else 0))
        return starts[rank], starts[rank] + len(word)

    def add_up_offset(self, index: int) -> tuple[int, int]:
        """Offsets of a word of pieces, added up for twice as many words as asked, so
        a huge field is never added up whole in vain."""
        sums = self._sums
        if 2 * index + 1 >= len(sums):
            done = len(sums)
            wanted = islice(self.pieces, done, max(512, 4 * (index + 1)))
            sums.extend(accumulate(map(len, wanted), initial=sums[-1] if sums else 0))
            del sums[done]  # `initial` comes first: the last sum again, or 0
        return sums[2 * index], sums[2 * index + 1]


class Document:
    """A tokenised article: word positions per pattern id of one vocabulary."""

    def __init__(self, doc: MatchInput, vocabulary: Vocabulary):
        title = FieldText("title", doc.title or "", 0, vocabulary)
        body_base = len(title.words) + MAX_NUMBER + 1
        body = FieldText("body", doc.body or "", body_base, vocabulary)
        self.fields = (title, body)
        self.scopes = {"title": (0, len(title.words)), "body": (body_base, float("inf"))}
        self.positions, places = index_patterns(self.fields, vocabulary)
        title.places = body.places = places
        self.phrases: dict[tuple[tuple[int, ...], Scope], list[tuple[int, int]] | None] = {}
        self.nears: dict[tuple[int, Scope], list[tuple[int, int]] | None] = {}
        self.explanations: dict[tuple[tuple[tuple[int, int], ...], tuple[str, ...]], tuple] = {}  # see explain.py
        self.located: dict[tuple[tuple[int, int], tuple[str, ...]], tuple] = {}  # see explain.py

    def positions_in(self, pattern: int, scope: Scope) -> list[int]:
        """Sorted positions of one pattern inside a scope."""
        positions = self.positions.get(pattern, ())
        if not positions or scope == EVERYWHERE:
            return positions
        low = bisect.bisect_left(positions, scope[0])
        high = bisect.bisect_left(positions, scope[1])
        return positions[low:high]

    def holds_word(self, position: int) -> bool:
        """True when a word of the title or the body is at this position."""
        field = self.fields[1] if position >= self.fields[1].base else self.fields[0]
        return field.base <= position < field.base + len(field.words)

    def scope_of(self, name: str) -> Scope:
        return self.scopes[name]


def cut_pieces(pieces: list[str], vocabulary: Vocabulary) -> list[str]:
    """Separator/word pieces with each run that holds query words cut into words
    (with empty separators between them, so offsets still add up)."""
    cut = vocabulary.cut_runs(pieces[1::2])
    if not cut:
        return pieces
    result = [pieces[0]]
    for index in range(1, len(pieces), 2):
        parts = cut.get(pieces[index])
        if parts is None:
            result.append(pieces[index])
        else:
            spaced = [""] * (2 * len(parts) - 1)  # the parts with empty separators between them
            spaced[0::2] = parts
            result.extend(spaced)
        result.append(pieces[index + 1])
    return result


def index_patterns(fields: tuple[FieldText, ...], vocabulary: Vocabulary) -> tuple[dict[int, list[int]], dict[str, list[int]]]:
    """(pattern id -> sorted positions, text word -> sorted positions) over all fields,
    looking each distinct word up once. A pattern met by one word (the usual case)
    shares that word's list; lists are never changed afterwards."""
    patterns = vocabulary.patterns_in(set(chain.from_iterable(field.words for field in fields)))
    places = group_places(fields, patterns)
    positions: dict[int, list[int]] = {}
    merged = set()
    for word, found in patterns.items():
        for pattern in found:
            if pattern in positions:
                merged.add(pattern)
                positions[pattern] = positions[pattern] + places[word]
            else:
                positions[pattern] = places[word]
    for pattern in merged:
        positions[pattern].sort()
    add_markers(positions, vocabulary.markers)
    return positions, places


def add_markers(positions: dict[int, list[int]], markers: dict[int, list[int]]) -> None:
    """Every marker set by a pattern present, with no positions of its own."""
    if markers:
        for marker in set(chain.from_iterable(filter(None, map(markers.get, list(positions))))):
            positions[marker] = []


def group_places(fields: tuple[FieldText, ...], wanted: Collection[str]) -> dict[str, list[int]]:
    """Global positions of each wanted word in these fields (C-level passes over the
    words, then one step per wanted place)."""
    words = list(chain.from_iterable(field.words for field in fields))
    spots = chain.from_iterable(range(field.base, field.base + len(field.words)) for field in fields)
    if len(wanted) == 1:
        [word] = wanted
        return {word: list(compress(spots, map(eq, words, repeat(word))))}
    mask = list(map(wanted.__contains__, words))
    places: dict[str, list[int]] = {word: [] for word in wanted}
    for word, index in zip(compress(words, mask), compress(spots, mask)):
        places[word].append(index)
    return places
