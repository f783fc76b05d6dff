"""A compiled rule set: match one article against every rule, tokenising it once.

`RuleSet.match` builds one `Document` per call, then evaluates only the candidate
rules: those with a word that occurs in the document (found through the vocabulary's
pattern ids) plus the rules that hold on an empty document (`NOT x`), which must always
be evaluated. A rule with no word in the document evaluates exactly as on an empty
document, so the prefilter never changes the answer; `match_every_rule` skips the
prefilter and exists to prove that (tests) and to measure it (bench).

A rule with `tags` applies only to feeds sharing a tag; with `languages` only to
articles whose primary language subtag is listed ('en-US' counts as 'en').
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from config.models import RuleConfig
from matching.document import EVERYWHERE, Document, Vocabulary
from matching.evaluate import EvalNode
from matching.explain import explain_match
from matching.models import MatchInput, RuleMatch


@dataclass(frozen=True)
class CompiledRule:
    """One rule ready to evaluate; `patterns` are the pattern ids of all its words."""

    name: str
    hash: str
    config: RuleConfig
    root: EvalNode
    patterns: frozenset[int]


class RuleSet:
    """Every compiled rule behind one vocabulary and one prefilter."""

    def __init__(self, rules: Iterable[CompiledRule], vocabulary: Vocabulary):
        self.rules = tuple(rules)
        self.vocabulary = vocabulary
        empty = Document(MatchInput(title="", body=""), vocabulary)
        self.always = tuple(i for i, rule in enumerate(self.rules) if rule.root.evaluate(empty, EVERYWHERE) is not None)
        cjk_text = {pattern: text for text, pattern in vocabulary.cjk.items()}
        self.cjk_words = [tuple(cjk_text[p] for p in rule.patterns if p in cjk_text) for rule in self.rules]
        self.by_pattern: dict[int, list[int]] = {}
        for index, rule in enumerate(self.rules):
            for pattern in rule.patterns:
                self.by_pattern.setdefault(pattern, []).append(index)

    def match(self, doc: MatchInput) -> list[RuleMatch]:
        """The rules that hit `doc`, in rule order, each with its explanation."""
        document = Document(doc, self.vocabulary)
        return self.match_rules(doc, document, self.candidates(document))

    def match_every_rule(self, doc: MatchInput) -> list[RuleMatch]:
        """Same answer as `match`, evaluating every rule (no prefilter)."""
        document = Document(doc, self.vocabulary)
        return self.match_rules(doc, document, range(len(self.rules)))

    def candidates(self, document: Document) -> list[int]:
        """Indices of the rules that can hit `document`, in rule order."""
        found = set(self.always)
        for pattern in document.positions:
            found.update(self.by_pattern.get(pattern, ()))
        return sorted(found)

    def match_rules(self, doc: MatchInput, document: Document, indices: Iterable[int]) -> list[RuleMatch]:
        matches = []
        for index in indices:
            rule = self.rules[index]
            if not applies_to(rule.config, doc):
                continue
            if rule.root.evaluate(document, EVERYWHERE) is not None:
                evidence = rule.root.evidence(document, EVERYWHERE)
                matches.append(explain_match(rule.name, rule.hash, document, evidence, self.cjk_words[index]))
        return matches


def applies_to(rule: RuleConfig, doc: MatchInput) -> bool:
    """Whether a rule's `tags` and `languages` let it see this article at all."""
    if rule.tags and not {tag.casefold() for tag in rule.tags} & {tag.casefold() for tag in doc.feed_tags}:
        return False
    if rule.languages:
        wanted = {primary_language(language) for language in rule.languages}
        return doc.language is not None and primary_language(doc.language) in wanted
    return True


def primary_language(tag: str) -> str:
    """'en-US', 'en_us' and 'EN' all give 'en'."""
    return tag.replace("_", "-").split("-")[0].strip().casefold()
