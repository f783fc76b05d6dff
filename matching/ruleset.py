"""A compiled rule set: match one article against every rule, tokenising it once.

`RuleSet.match` builds one `Document` per call, then evaluates only the candidate
rules. Each rule's tree gives clauses (sets of pattern ids) that every document it hits
meets, one id of each (see `evaluate.py`). A rule is indexed under the clause whose words
look rarest; a document's words pick out rules from that index, and a rule stays a
candidate only if the document meets its other clauses too. "Rarest" is first guessed
from the words (long words are rarer than short ones and prefixes); once REINDEX_AFTER
documents have been matched, the index is rebuilt from how often each word actually
occurred (so "Pyongyang AND missile" is looked up under Pyongyang, not missile). Rules without clauses
(`NOT x`) are always evaluated. So the prefilter never changes the answer;
`match_every_rule` skips it and exists to prove that (tests) and to measure it (bench).

A rule with `tags` applies only to feeds sharing a tag; with `languages` only to
articles whose primary language subtag is listed ('en-US' counts as 'en'), or whose
language could not be decided: an undecided article is never excluded by `languages`
(better an alert to dismiss than a silent miss). `RuleSet.skipped` says which rules
did not look at an article and why (`newswatch rules test` shows it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from config.models import RuleConfig
from matching.document import EVERYWHERE, Document, Vocabulary
from matching.evaluate import EvalNode
from matching.explain import explain_match
from matching.models import MatchInput, RuleMatch


REINDEX_AFTER = (200, 2_000, 20_000)  # documents matched before the index is rebuilt
Checks = tuple[frozenset[int], tuple[frozenset[int], ...]]
Checked = tuple[int, tuple[int, ...], tuple[tuple[int, ...], ...]]  # a rule's index and its Checks, as tuples
Entry = tuple[tuple[int, ...], tuple[Checked, ...]]
Index = list[Entry | None]  # by pattern id
Prepared = tuple[list, Index]  # (clauses per rule, index): see RuleSet.prepared


class CompiledRule:
    """One rule ready to evaluate; `patterns` are the pattern ids of all its words.

    `root` is the rule's evaluation tree; a rule read from the cache (`matching.cache`)
    holds a `load` function instead and builds its tree on first use, so loading 10,000
    rules costs only the trees of the rules some document makes candidates."""

    __slots__ = ("name", "hash", "config", "patterns", "_root", "_load")

    def __init__(self, name: str, hash: str, config: RuleConfig, root: EvalNode | None,
                 patterns: frozenset[int], load: Callable[[], EvalNode] | None = None):
        self.name, self.hash, self.config, self.patterns = name, hash, config, patterns
        self._root, self._load = root, load

    @property
    def root(self) -> EvalNode:
        if self._root is None:
            self._root = self._load()
        return self._root

    def __repr__(self) -> str:
        return f"CompiledRule({self.name!r}, {self.hash!r})"


def weigh(clause: frozenset[int], vocabulary: Vocabulary) -> float:
    """How likely a clause is met: its words' weights added up."""
    return sum(vocabulary.weigh(pattern) for pattern in clause)


class RuleSet:
    """Every compiled rule behind one vocabulary and one prefilter."""

    def __init__(self, rules: Iterable[CompiledRule], vocabulary: Vocabulary, prepared: Prepared | None = None):
        """`prepared` is what `prepared()` returned for the same rules and vocabulary (a
        cached rule set, see `matching.cache`): the index is then not built again."""
        self.rules = tuple(rules)
        self.vocabulary = vocabulary
        if prepared is None:
            self.clauses = [rule.root.clauses() for rule in self.rules]
            self.index = self.build_index(lambda clause: weigh(clause, vocabulary))
        else:
            self.clauses, self.index = prepared
        self.always = tuple(i for i, found in enumerate(self.clauses) if not found)
        cjk_text = {pattern: text for text, pattern in vocabulary.cjk.items()}
        self.cjk_words = [tuple(cjk_text[p] for p in rule.patterns if p in cjk_text) for rule in self.rules]
        self.documents_seen = 0
        self.seen: Counter[int] = Counter()  # pattern id -> documents it occurred in

    def prepared(self) -> Prepared:
        """The clauses and the first index, as built from the words alone (before `learn`)."""
        if self.documents_seen >= REINDEX_AFTER[0]:
            return self.clauses, self.build_index(lambda clause: weigh(clause, self.vocabulary))
        return self.clauses, self.index

    def build_index(self, weight: Callable[[frozenset[int]], float]) -> Index:
        """Per pattern id, the rules indexed under it, or None: each rule is indexed
        under the ids of its lightest clause, as selected outright when that is its
        only clause, else with its other clauses to check (one-word clauses as a
        subset test, the rest one by one). A list, so a document's ids are looked up
        by position, each in one place; the checks are tuples, a third of the memory
        of frozensets, since checking them is bound by memory reads."""
        free: dict[int, list[int]] = {}
        checked: dict[int, list[Checked]] = {}
        for index, found in enumerate(self.clauses):
            ordered = sorted(found, key=weight)
            checks = split_checks(ordered[1:])
            for pattern in ordered[0] if ordered else ():
                if checks is None:
                    free.setdefault(pattern, []).append(index)
                else:
                    required, groups = checks
                    checked.setdefault(pattern, []).append((index, tuple(required), tuple(map(tuple, groups))))
        entries: Index = [None] * len(self.vocabulary)
        for pattern in free.keys() | checked.keys():
            entries[pattern] = (tuple(free.get(pattern, ())), tuple(checked.get(pattern, ())))
        return entries

    def learn(self, present: set[int]) -> None:
        """Count which words occur; after REINDEX_AFTER documents (and 10 and 100 times
        as many) index each rule under the clause that has occurred least so far."""
        self.seen.update(present)
        self.documents_seen += 1
        if self.documents_seen in REINDEX_AFTER:
            seen, vocabulary, documents = self.seen, self.vocabulary, self.documents_seen

            def observed(clause: frozenset[int]) -> float:
                return sum(seen[p] for p in clause) / documents + 1e-3 * weigh(clause, vocabulary)

            self.index = self.build_index(observed)

    def match(self, doc: MatchInput) -> list[RuleMatch]:
        """The rules that hit `doc`, in rule order, each with its explanation."""
        document = Document(doc, self.vocabulary)
        return self.match_rules(doc, document, self.candidates(document))

    def match_every_rule(self, doc: MatchInput) -> list[RuleMatch]:
        """Same answer as `match`, evaluating every rule (no prefilter)."""
        document = Document(doc, self.vocabulary)
        return self.match_rules(doc, document, range(len(self.rules)))

    def candidates(self, document: Document) -> list[int]:
        """Indices of the rules that can hit `document`, in rule order: those indexed
        under a word it contains whose other clauses it also meets, and `always`."""
        present = set(document.positions)
        found = set(self.always)
        self.learn(present)
        misses = present.isdisjoint  # a group none of whose ids occurs
        for entry in map(self.index.__getitem__, present):
            if entry is None:
                continue
            selected, checked = entry
            found.update(selected)
            for index, required, groups in checked:
                if present.issuperset(required) and not any(map(misses, groups)):
                    found.add(index)
        return sorted(found)

    def skipped(self, doc: MatchInput) -> list[tuple[str, str]]:
        """(rule name, reason) of every rule whose `tags` or `languages` keep it from `doc`."""
        reasons = ((rule.name, skip_reason(rule.config, doc)) for rule in self.rules)
        return [(name, reason) for name, reason in reasons if reason is not None]

    def match_rules(self, doc: MatchInput, document: Document, indices: Iterable[int]) -> list[RuleMatch]:
        matches = []
        for index in indices:
            rule = self.rules[index]
            if not applies_to(rule.config, doc):
                continue
            evidence = rule.root.evidence(document, EVERYWHERE)
            if evidence is not None:
                matches.append(explain_match(rule.name, rule.hash, document, evidence, self.cjk_words[index]))
        return matches


def split_checks(clauses: list[frozenset[int]]) -> Checks | None:
    """Clauses to check as (ids that must all occur, sets of which one id must occur);
    None when there is nothing to check."""
    if not clauses:
        return None
    required = frozenset(pattern for clause in clauses if len(clause) == 1 for pattern in clause)
    return required, tuple(clause for clause in clauses if len(clause) > 1)


def applies_to(rule: RuleConfig, doc: MatchInput) -> bool:
    """Whether a rule's `tags` and `languages` let it see this article at all."""
    return skip_reason(rule, doc) is None


def skip_reason(rule: RuleConfig, doc: MatchInput) -> str | None:
    """Why a rule's `tags` or `languages` keep it from looking at this article; None when
    they let it. An article of undecided language (None) is seen by every `languages` rule."""
    if rule.tags and not {tag.casefold() for tag in rule.tags} & {tag.casefold() for tag in doc.feed_tags}:
        has = f"its feed is tagged {', '.join(doc.feed_tags)}" if doc.feed_tags else "it comes from no tagged feed"
        return f"tags: the rule watches only feeds tagged {', '.join(rule.tags)}; {has}"
    if rule.languages and doc.language is not None:
        wanted = {primary_language(language) for language in rule.languages}
        if primary_language(doc.language) not in wanted:
            return f"languages: the rule watches only {', '.join(rule.languages)}; the article is in {doc.language}"
    return None


def primary_language(tag: str) -> str:
    """'en-US', 'en_us' and 'EN' all give 'en'."""
    return tag.replace("_", "-").split("-")[0].strip().casefold()
