"""Watch rules in, one `RuleSet` out — or every problem, each with its rule and column.

`compile_rules` parses each rule's query, expands `@alias` references into their
entries, numbers every distinct word in one shared `Vocabulary`, and hands the
compiled rules to a `RuleSet`. `check_rules` does the same work but returns the list
of problems instead of raising, so `newswatch check` can show them all at once.
Both share one compilation per process (`compile_all` keeps the last few rule sets by
value), and, given a `cache_dir`, one across processes (`matching.cache`): a command that
validates the config and then matches parses and compiles each rule once, or not at all.

Alias names are case-sensitive (the rule's content hash names them as written).
An alias entry is written like a query term: `North Korea*` is the phrase "north
korea*"; surrounding quotes are allowed; operators, parentheses and `@` are not.
A rule may expand to at most MAX_EXPANDED_TERMS words and phrases after aliases.

`@pack:KEY` (`@country:KP`) expands to a name pack's names for KEY plus the user's
alias group named `pack:KEY` (see namepacks.py). Every unquoted word that is a word of a
built-in pack's names also matches its inflected forms ("Россия" matches "России"),
wherever it is written: in a pack, an alias entry or the query itself. Quoted words
match as written only.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from config.models import AliasGroup, RuleConfig
from matching.document import Vocabulary
from matching.errors import QueryError, QueryErrors
from matching.namepacks import PackError, builtin_forms, expand_reference, split_reference
from matching.evaluate import GAP, AllOf, AnyOf, AtLeast, EvalNode, InField, Names, Near, Phrase, Without
from matching.parser import QueryWord, WordError, parse_query, read_words
from matching import cache, parser
from matching.ruleset import CompiledRule, Prepared, RuleSet

MAX_EXPANDED_TERMS = 2000
# Words that stand inside names in many languages and fill news text in others: in the
# names of packs they match any one word (see evaluate.GAP) when the name has a word of
# GAP_MIN_CHARS or more to look up, so documents need not index where they occur.
GAP_WORDS = frozenset({
    "the", "of", "and", "a", "an", "i", "in", "is", "it", "to", "at", "as", "be", "by", "on", "no", "we",
    "s", "t", "re", "he", "so", "can", "not", "are", "de", "la", "le", "les", "du", "del", "des", "da",
    "do", "di", "e", "y", "u", "na", "ny", "et", "und", "der", "die", "das", "и", "в", "на", "с", "а",
})
GAP_MIN_CHARS = 5
_ENTRY_QUOTES = ('"', "“", "”", "'")


def compile_rules(rules: Sequence[RuleConfig], aliases: Mapping[str, AliasGroup],
                  cache_dir: str | os.PathLike[str] | None = None) -> RuleSet:
    """Compile every rule into one matcher; raise QueryError (or QueryErrors) on problems.

    Compiled once per process: the same rules and aliases again give the same RuleSet
    (see `compile_all`); each call gets a RuleSet of its own over them."""
    compiled = compile_all(rules, aliases, cache_dir)
    if len(compiled.errors) == 1:
        raise compiled.errors[0]
    if compiled.errors:
        raise QueryErrors(list(compiled.errors))
    return compiled.ruleset()


def check_rules(rules: Sequence[RuleConfig], aliases: Mapping[str, AliasGroup],
                cache_dir: str | os.PathLike[str] | None = None) -> list[QueryError]:
    """Every problem in `rules`, in rule order; empty when all compile."""
    return list(compile_all(rules, aliases, cache_dir).errors)


@dataclass
class Compiled:
    """The rules that compile, their vocabulary, every problem, and the prefilter's index once built."""

    rules: list[CompiledRule]
    vocabulary: Vocabulary
    errors: list[QueryError]
    prepared: Prepared | None = None  # (clauses, index): read from the cache, or built by the first RuleSet

    def ruleset(self) -> RuleSet:
        """A matcher of its own (what it learns from documents, and the words it has looked up,
        are not shared: passes in threads may each match), over the shared compiled rules."""
        if self.prepared is None:
            matcher = RuleSet(self.rules, self.vocabulary)
            self.prepared = matcher.prepared()
            return matcher
        return RuleSet(self.rules, self.vocabulary.fresh_copy(), self.prepared)


MEMO_SIZE = 8
_memo: OrderedDict[tuple, Compiled] = OrderedDict()  # (rules, aliases) -> Compiled, most recent last
_last: list = []  # [rules, aliases, Compiled] of the last call, the very objects passed


def compile_all(rules: Sequence[RuleConfig], aliases: Mapping[str, AliasGroup],
                cache_dir: str | os.PathLike[str] | None = None) -> Compiled:
    """Each rule parsed and compiled once per process: the last MEMO_SIZE rule sets are kept
    by value (validating a config and then running it compiles once). With `cache_dir`, a
    rule set that compiles without a problem is also kept on disk (`matching.cache`), so
    the next process reads it instead of compiling."""
    if _last and _last[0] is rules and _last[1] is aliases and isinstance(rules, tuple):  # the config's own, again
        return _last[2]
    given = (rules, aliases)
    rules = tuple(rules)
    key = (rules, tuple(sorted(aliases.items())))
    found = _memo.get(key)
    if found is None:
        found = (read_cached(rules, aliases, cache_dir) if cache_dir is not None else None) or compile_fresh(rules, aliases)
        if cache_dir is not None and not found.errors:
            write_cached(rules, aliases, cache_dir, found)
    _memo[key] = found
    _memo.move_to_end(key)
    while len(_memo) > MEMO_SIZE:
        _memo.popitem(last=False)
    _last[:] = [*given, found]
    return found


def forget_compiled() -> None:
    """Drop the rule sets compiled in this process (the next compile reads the disk cache or compiles)."""
    _memo.clear()
    _last.clear()


def read_cached(rules: tuple[RuleConfig, ...], aliases: Mapping[str, AliasGroup],
                cache_dir: str | os.PathLike[str]) -> Compiled | None:
    """The compiled rules stored for exactly these rules, rebuilt around the caller's RuleConfigs."""
    stored = cache.load_compiled(Path(cache_dir), cache.cache_key(rules, aliases))
    if stored is None:
        return None
    try:
        trees, vocabulary, prepared = stored
        compiled = [CompiledRule(rules[index].name, rules[index].content_hash, rules[index], None,
                                 frozenset(patterns), partial(cache.load_tree, tree))
                    for index, tree, patterns in trees]
    except (IndexError, TypeError, ValueError):
        return None
    return Compiled(compiled, vocabulary, [], prepared=prepared)


def write_cached(rules: tuple[RuleConfig, ...], aliases: Mapping[str, AliasGroup],
                 cache_dir: str | os.PathLike[str], compiled: Compiled) -> None:
    key = cache.cache_key(rules, aliases)
    if cache.cache_path(Path(cache_dir), key).exists():
        return
    position = {id(rule): index for index, rule in enumerate(rules)}
    trees = [(position[id(rule.config)], cache.dump_tree(rule.root), tuple(rule.patterns)) for rule in compiled.rules]
    cache.store_compiled(Path(cache_dir), key, (trees, compiled.vocabulary, compiled.ruleset().prepared()))


def compile_fresh(rules: Sequence[RuleConfig], aliases: Mapping[str, AliasGroup]) -> Compiled:
    vocabulary = Vocabulary()
    builder = _Builder(aliases, vocabulary)
    compiled: list[CompiledRule] = []
    errors: list[QueryError] = []
    seen: dict[str, RuleConfig] = {}
    for rule in rules:
        if rule.name in seen:
            errors.append(duplicate_error(rule, seen[rule.name]))
            continue
        seen[rule.name] = rule
        root, problems = builder.build_rule(rule)
        errors.extend(problems)
        if root is not None and not problems:
            compiled.append(CompiledRule(rule.name, rule.content_hash, rule, root, frozenset(root.patterns_used())))
    vocabulary.freeze()
    return Compiled(compiled, vocabulary, errors)


def duplicate_error(rule: RuleConfig, first: RuleConfig) -> QueryError:
    where = f" at {first.source}" if first.source else ""
    message = f"another rule is already named {rule.name!r}{where}; rule names must be unique"
    return QueryError(rule.name, message, 1, rule.query, rule.query_source)


def read_entry(entry: str) -> tuple[QueryWord, ...]:
    """One alias entry as a word or phrase (quoted: to match as written only); raises
    WordError when it is not one."""
    text = entry.strip()
    quoted = len(text) >= 2 and text[0] in _ENTRY_QUOTES and text[-1] in _ENTRY_QUOTES
    if quoted:
        text = text[1:-1]
    if any(char in text for char in '()@"“”'):
        raise WordError("alias entries are words or phrases, without parentheses, quotes or '@'", 0)
    return read_words(text, exact=quoted)


def unknown_alias_message(name: str, aliases: Mapping[str, AliasGroup]) -> str:
    same = [known for known in aliases if known.casefold() == name.casefold()]
    if same:
        return f"unknown alias @{name}; alias names are case-sensitive: did you mean @{same[0]}?"
    known = ", ".join(f"@{known}" for known in sorted(aliases)) or "none yet"
    return f"unknown alias @{name}; define it under aliases: (known: {known})"


class _Builder:
    """Turns syntax trees into evaluation nodes, collecting problems per rule."""

    def __init__(self, aliases: Mapping[str, AliasGroup], vocabulary: Vocabulary):
        self.aliases = aliases
        self.vocabulary = vocabulary
        self.rule = RuleConfig(name="", query="")
        self.problems: list[QueryError] = []
        self.terms = 0
        self.forms = builtin_forms()
        self.packs: dict[str, Names] = {}  # reference -> the node of its built-in names

    def build_rule(self, rule: RuleConfig) -> tuple[EvalNode | None, list[QueryError]]:
        self.rule, self.problems, self.terms = rule, [], 0
        try:
            tree = parse_query(rule.query, rule.name, rule.query_source)
        except QueryError as error:
            return None, [error]
        root = self.build(tree)
        if self.terms > MAX_EXPANDED_TERMS:
            self.fail(f"the query expands to {self.terms:,} words and phrases; the limit is {MAX_EXPANDED_TERMS:,}", 1)
        return root, self.problems

    def fail(self, message: str, column: int) -> None:
        self.problems.append(QueryError(self.rule.name, message, column, self.rule.query, self.rule.query_source))

    def build(self, node: parser.Node) -> EvalNode:
        if isinstance(node, parser.Term):
            return self.build_phrase(node.words)
        if isinstance(node, parser.AliasRef):
            return self.build_alias(node)
        if isinstance(node, parser.And):
            return AllOf(tuple(self.build(child) for child in node.children))
        if isinstance(node, parser.Or):
            return AnyOf(tuple(self.build(child) for child in node.children))
        if isinstance(node, parser.Not):
            return Without(self.build(node.child))
        if isinstance(node, parser.Near):
            return Near(self.build(node.left), self.build(node.right), node.distance)
        if isinstance(node, parser.AtLeast):
            return AtLeast(node.count, self.build(node.child))
        return InField(node.name, self.build(node.child))

    def build_phrase(self, words: tuple[QueryWord, ...]) -> Phrase:
        self.terms += 1
        forms = self.forms
        return Phrase(tuple(self.vocabulary.add_word(word, forms.get(word.text, "").split()) for word in words))

    def build_alias(self, ref: parser.AliasRef) -> AnyOf:
        if split_reference(ref.name):
            return self.build_pack(ref)
        group = self.aliases.get(ref.name)
        if group is None:
            self.fail(unknown_alias_message(ref.name, self.aliases), ref.column)
            return AnyOf(())
        if not group.entries:
            self.fail(f"alias group @{ref.name} is empty; give it at least one entry", ref.column)
            return AnyOf(())
        return AnyOf(tuple(self.build_entry(group, entry, ref) for entry in group.entries))

    def build_pack(self, ref: parser.AliasRef) -> Names | AnyOf:
        """`@country:KP`: each distinct name of the pack entry once, then the user's own
        (as one term towards MAX_EXPANDED_TERMS: the pack's size is bounded by its data).
        Rules naming the same entry share one node."""
        try:
            expansion = expand_reference(ref.name, self.aliases)
        except PackError as error:
            self.fail(str(error), ref.column)
            return AnyOf(())
        terms = self.terms
        if expansion.reference not in self.packs:
            self.packs[expansion.reference] = self.build_names(expansion.names, ())
        node = self.packs[expansion.reference]
        if expansion.custom:
            custom = self.aliases.get(ref.name) or self.aliases.get(expansion.reference[1:])
            phrases = [self.build_entry(custom or AliasGroup(ref.name, ()), entry, ref) for entry in expansion.custom]
            node = self.build_names({}, node.children + tuple(phrase for phrase in phrases if phrase.patterns))
        self.terms = terms + 1 + len(expansion.custom)
        return node

    def build_names(self, names: Mapping[str, list[str]], built: tuple[Phrase, ...]) -> Names:
        """A Names node of the built phrases and these names, each distinct phrase once."""
        phrases = {phrase.patterns: phrase for phrase in built}
        for name in dict.fromkeys(name for found in names.values() for name in found):
            phrase = self.build_name(read_entry(name))  # the pack's build checks that every name reads
            phrases.setdefault(phrase.patterns, phrase)
        weigh = self.vocabulary.weigh
        lightest = frozenset(min((i for i in p.patterns if i != GAP), key=weigh) for p in phrases.values())
        return Names(tuple(phrases.values()), self.vocabulary.add_marker(lightest) if lightest else None)

    def build_name(self, words: tuple[QueryWord, ...]) -> Phrase:
        """A pack name's phrase, its GAP_WORDS as gaps (never the first word, which the
        phrase is looked up by: leading ones are dropped) when a long word remains."""
        kept = [word.text not in GAP_WORDS for word in words]
        if len(words) < 2 or max((len(w.text) for w, k in zip(words, kept) if k), default=0) < GAP_MIN_CHARS:
            return self.build_phrase(words)
        first = kept.index(True)
        forms = self.forms
        return Phrase(tuple(self.vocabulary.add_word(word, forms.get(word.text, "").split()) if keep else GAP
                            for word, keep in zip(words[first:], kept[first:])))

    def build_entry(self, group: AliasGroup, entry: str, ref: parser.AliasRef) -> Phrase:
        try:
            return self.build_phrase(read_entry(entry))
        except WordError as error:
            where = f" ({group.source})" if group.source else ""
            self.fail(f"alias @{group.name}{where}, entry {entry!r}: {error.message}", ref.column)
            return Phrase(())
