"""Suggested edits of a rule, learned from the analyst's labels: pure logic, no database.

`suggest_queries(rule, aliases, pool, labels, examples)` returns whole revised queries,
best first. `pool` is every stored text (labelled ones included), `labels` says which
of them the analyst judged relevant or not. A revised query keeps the rule's own
top-level alternatives (`a OR b OR c`; one it may drop), and may
- add single words, or words of the title (`title:stake`), as new alternatives (for
  relevant stories the rule misses);
- keep a broad alternative only with one of a few context words (`trade AND (deficit OR
  surplus)`), or accept one more context word for it;
- exclude words (`(...) NOT (x OR y)`) that mark its false hits.
It reads like a rule a person wrote: at most MAX_TERMS terms, no scores.

How edits are chosen: a greedy search for the best expected F1 over the whole pool,
where a labelled text counts as its label and an unlabelled one as its probability of
relevance (matching.relevance, see `expected_relevance`). Thousands of words are tried,
so an edit must also be backed by the labels on what it changes: what it gains needs
MIN_SUPPORT labelled relevant stories and a precision whose lower 95% bound is
GAIN_BOUND or more; what it removes needs EXCLUDE_SUPPORT labelled false hits, at most
one relevant story per ten of them, and an upper 95% bound of the relevant
share of LOSS_BOUND or less; and either needs a label on one in COVER of the texts it
changes. The bounds and the share of labelled texts are taken on the region's fair
sample (`Search.fair_sample`: its texts in spread order up to the first unlabelled one),
because the other labels were asked for where the model was surest (likely misses,
unlikely hits) and so overstate what it believes. `confirmed=False` counts every label
instead: that is a proposal, which matching.candidates offers for labels in spread order
so that the next suggestion can confirm or refuse it. (A common word changes many texts
nobody judged, where the model's guess is least to be trusted.) The bounds are for extrapolating: an edit whose every changed text
is labelled needs only the support and a majority (or one relevant per ten) of the labels. A dropped alternative may cost one labelled relevant story, or
one per twenty labelled false hits it removes, or any number when the labelled stories
only it finds are mostly irrelevant (the upper 95% bound of their precision below
DROP_BOUND): an alternative added on the evidence of one round can be taken back when
the labels asked for in the next round (see matching.candidates) go against it. Function words and words in more than
MAX_SHARE of the pool are never written.
The search works on word sets; every suggestion is then matched for real
(compile_rules), its `fixes` and `breaks` come from that. A suggestion is returned only
when it beats the rule as written, both on expected F1 and on F1 over the labelled texts
alone, and never when it breaks one of the rule's `examples`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from config.models import AliasGroup, RuleConfig
from matching.compiler import compile_rules
from matching.errors import QueryError, QueryErrors
from matching.models import MatchInput
from matching.relevance import adjust_to_pool, train_relevance
from matching.tokens import fold_word, split_words

MAX_TERMS = 25
MAX_EDITS = 16
TRIES = 5  # best edits tried in turn when one breaks the rule's examples
MIN_SUPPORT = 3
EXCLUDE_SUPPORT = 5
GAIN_BOUND = 0.5  # lower bound of the labelled precision of what an edit gains
LOSS_BOUND = 0.3  # upper bound of the labelled relevant share of what it removes
MIN_GAIN = 0.002  # expected-F1 gain an edit must bring
ADJUST_PRIOR = True
DROP_BOUND = 0.5  # or its labelled stories are mostly irrelevant (upper 95% bound of their precision)
DROP_COST = 0.05  # labelled relevant hits a dropped alternative may lose per labelled false hit
EXCLUDE_COST = 0.1  # labelled relevant hits an exclusion may lose per labelled false hit it removes
COVER = 30  # an edit needs a label per COVER texts it changes...
REGION_LABELS = 10  # ...or this many labels among them

MAX_CONTEXT = 8  # context words one alternative may need
MIN_LIFT = 3.0  # an added word is in relevant stories this many times as often as in the pool (see Search)
MAX_SHARE = 0.3  # a word in more of the pool than this says nothing about a topic
OPERATORS = {"AND", "OR", "NOT"}
# English function words: never a query term on their own, whatever the labels say
FUNCTION_WORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers him his how i if in into is it its itself just me more most my no nor not now of off on
once only or other our ours out over own same she should so some such than that the their them then there
these they this those through to too under until up very was we were what when where which while who whom
why will with would you your said says say mr mrs ms one two three new
""".split())


@dataclass(frozen=True)
class Text:
    """A stored article as the learner sees it: what the rule matches, and its key."""

    key: int
    title: str
    body: str
    language: str | None = None
    feed_tags: tuple[str, ...] = ()

    def as_input(self) -> MatchInput:
        return MatchInput(title=self.title, body=self.body, language=self.language, feed_tags=self.feed_tags)


@dataclass(frozen=True)
class Suggestion:
    """One whole revised query: what changes, which labelled texts it fixes and breaks."""

    query: str
    change: str
    fixes: tuple[int, ...]
    breaks: tuple[int, ...]
    hits: frozenset[int]  # pool keys the revised query hits
    expected_f1: float


@dataclass
class Plan:
    """A revised query under construction: kept alternatives, added words, excluded words."""

    keep: list[str]
    add: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    context: dict[str, list[str]] = field(default_factory=dict)  # kept part -> words one of which it needs

    def copy(self) -> "Plan":
        return Plan(list(self.keep), list(self.add), list(self.exclude), list(self.dropped),
                    {part: list(words) for part, words in self.context.items()})


class Corpus:
    """The pool's word sets and word -> texts postings, built once per suggestion run."""

    def __init__(self, pool: Sequence[Text]):
        self.texts = {text.key: text for text in pool}
        self.words = {text.key: text_words(text) for text in pool}
        self.postings: dict[str, set[int]] = {}
        for key, words in self.words.items():
            for word in words:
                self.postings.setdefault(word, set()).add(key)
        for text in pool:
            for word in {fold_word(word) for word in split_words(text.title)}:
                self.postings.setdefault(f"title:{word}", set()).add(text.key)

    def having(self, word: str) -> set[int]:
        """The texts with this word; `title:word` for the texts with it in their title."""
        return self.postings.get(word, set())


def text_words(text: Text) -> frozenset[str]:
    return frozenset(fold_word(word) for word in split_words(f"{text.title} {text.body}"))


def suggest_queries(
    rule: RuleConfig,
    aliases: Mapping[str, AliasGroup],
    pool: Sequence[Text] | Corpus,
    labels: Mapping[int, bool],
    examples: Sequence[tuple[MatchInput, bool]] = (),
    limit: int = 3,
    confirmed: bool = True,
) -> list[Suggestion]:
    """Up to `limit` revised queries, best first; [] when the labels back no change.

    A suggestion is offered only when, matched for real, it beats the rule as written both
    on the expected F1 over the pool and on the F1 over the labelled texts alone: the
    learner never proposes what its own evidence says is worse than leaving the rule be."""
    corpus = pool if isinstance(pool, Corpus) else Corpus(pool)
    labels = {key: relevant for key, relevant in labels.items() if key in corpus.texts}
    start = read_plan(rule.query)
    found = match_queries(rule, aliases, [rule.query, *start.keep], corpus)
    part_hits = {part: found[part] for part in start.keep}
    weights = expected_relevance(corpus, labels, found[rule.query])
    search = Search(corpus, labels, weights, part_hits, example_words(examples), confirmed)
    path = search.run(start, lambda plan: keeps_examples(rule, aliases, render(plan), examples))
    plans = [plan for plan in (path[-1], path[len(path) // 2], path[1] if len(path) > 1 else None)
             if plan is not None and plan is not start and keeps_examples(rule, aliases, render(plan), examples)]
    queries = list(dict.fromkeys(render(plan) for plan in plans))
    plans = [next(plan for plan in plans if render(plan) == query) for query in queries]
    found.update(match_queries(rule, aliases, queries, corpus))
    current = found[rule.query]
    suggestions = [judge(query, describe(plan, start, labels), found[query], current, labels, search)
                   for query, plan in zip(queries, plans)]
    floor = search.score(set(current)) + MIN_GAIN
    suggestions = [s for s in suggestions
                   if s.expected_f1 > floor and labelled_f1(s.hits, labels) >= labelled_f1(current, labels)]
    return sorted(suggestions, key=lambda s: -s.expected_f1)[:limit]


def labelled_f1(hits: Collection[int], labels: Mapping[int, bool]) -> float:
    """F1 of a hit set over the labelled texts alone (the analyst's own evidence)."""
    found = sum(1 for key, relevant in labels.items() if relevant and key in hits)
    wrong = sum(1 for key, relevant in labels.items() if not relevant and key in hits)
    missed = sum(1 for key, relevant in labels.items() if relevant and key not in hits)
    return 2 * found / (2 * found + wrong + missed) if found else 0.0


def read_plan(query: str) -> Plan:
    """The query as alternatives and exclusions: `(a OR b) NOT (x OR y)` as the learner writes it;
    an alternative written `a AND (c OR d)` is read as `a` with the context words c, d."""
    parts = split_alternatives(query)
    shape = re.fullmatch(r"(\(.*\)|[^\s()]+) NOT (\(.*\)|[^\s()]+)", query.strip())
    plan = Plan(keep=parts)
    if len(parts) == 1 and shape:
        body, excluded = (unwrap(group) for group in shape.groups())
        words = split_alternatives(excluded)
        if all(is_plain_word(word) for word in words) and balanced(body) and balanced(excluded):
            plan = Plan(keep=split_alternatives(body), exclude=words)
    for index, part in enumerate(plan.keep):
        base, context = read_context(part)
        if context:
            plan.keep[index] = base
            plan.context[base] = context
    return plan


def read_context(part: str) -> tuple[str, list[str]]:
    """`a AND (c OR d)` (or wrapped in parentheses) as ("a", ["c", "d"]); else (part, [])."""
    inner = unwrap(part)
    shape = re.fullmatch(r"(.+?) AND (\([^()]*\)|[^\s()]+)", inner)
    if shape and balanced(shape.group(1)) and len(split_alternatives(shape.group(1))) == 1:
        words = split_alternatives(unwrap(shape.group(2)))
        if " AND " not in shape.group(1) and all(is_plain_word(word) for word in words):
            return shape.group(1), words
    return part, []


def unwrap(text: str) -> str:
    return text[1:-1] if text.startswith("(") and text.endswith(")") and balanced(text[1:-1]) else text


def balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r'"[^"]*"', "", text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def split_alternatives(query: str) -> list[str]:
    """The query's top-level `OR` alternatives as written (one part when there is none)."""
    parts, depth, quoted, start = [], 0, False, 0
    for match in re.finditer(r'"|\(|\)|\s+OR\s+', query):
        token = match.group()
        if token == '"':
            quoted = not quoted
        elif not quoted and token == "(":
            depth += 1
        elif not quoted and token == ")":
            depth -= 1
        elif not quoted and depth == 0 and token.strip() == "OR":
            parts.append(query[start:match.start()].strip())
            start = match.end()
    parts.append(query[start:].strip())
    return [part for part in parts if part]


def match_queries(rule: RuleConfig, aliases: Mapping[str, AliasGroup], queries: Sequence[str],
                  corpus: Corpus) -> dict[str, frozenset[int]]:
    """query -> the pool texts the rule would hit with it, matched for real, all in one pass."""
    queries = list(dict.fromkeys(queries))
    if not queries:
        return {}
    variants = [replace(rule, name=f"{rule.name} #{index}", query=query) for index, query in enumerate(queries)]
    ruleset = compile_rules(variants, aliases)
    found: dict[str, set[int]] = {query: set() for query in queries}
    for key, text in corpus.texts.items():
        for match in ruleset.match(text.as_input()):
            found[queries[int(match.rule.rsplit("#", 1)[1])]].add(key)
    return {query: frozenset(keys) for query, keys in found.items()}


def match_keys(rule: RuleConfig, aliases: Mapping[str, AliasGroup], query: str, corpus: Corpus) -> frozenset[int]:
    """The pool texts the rule would hit with this query."""
    return match_queries(rule, aliases, [query], corpus)[query]


def expected_relevance(corpus: Corpus, labels: Mapping[int, bool], hits: set[int]) -> dict[int, float]:
    """Each pool text's relevance: its label, else the model's probability (a prior without one).

    The labels over-represent relevant texts (the analyst labels what looks interesting), so
    outside the rule's hits, where the model extrapolates most, its probabilities are moved to
    the pool's own share of relevant texts (matching.relevance.adjust_to_pool); inside the
    hits, where the labels sample evenly, they are taken as they are."""
    model = train_relevance({key: (corpus.words[key], relevant) for key, relevant in labels.items()})
    if model is None:
        hit_prior = sum(labels.values()) / len(labels) if labels else 0.5
        guess = {key: (hit_prior if key in hits else 0.02) for key in corpus.texts}
    else:
        guess = {key: model.probability(words) for key, words in corpus.words.items() if key in hits}
        outside = [key for key in corpus.texts if key not in labels and key not in hits]
        raw = [model.probability(corpus.words[key]) for key in outside]
        share = sum(labels.values()) / len(labels)
        guess.update(zip(outside, adjust_to_pool(raw, share) if ADJUST_PRIOR else raw))
    guess.update({key: 1.0 if relevant else 0.0 for key, relevant in labels.items()})
    return guess


def example_words(examples: Sequence[tuple[MatchInput, bool]]) -> tuple[set[str], set[str]]:
    """Words of the match examples (never excluded) and of the no_match ones (never added)."""
    keep: set[str] = set()
    avoid: set[str] = set()
    for doc, expected in examples:
        words = {fold_word(w) for w in split_words(f"{doc.title} {doc.body}")}
        (keep if expected else avoid).update(words)
    return keep, avoid


class Search:
    """The greedy search over edits, scored by expected F1 over the pool."""

    def __init__(self, corpus: Corpus, labels: Mapping[int, bool], weights: dict[int, float],
                 part_hits: dict[str, frozenset[int]], protected: tuple[set[str], set[str]],
                 confirmed: bool = True):
        self.confirmed = confirmed
        self.corpus, self.labels, self.weights, self.part_hits = corpus, labels, weights, part_hits
        self.total = sum(weights.values())
        self.positives = {key for key, relevant in labels.items() if relevant}
        self.negatives = {key for key, relevant in labels.items() if not relevant}
        self.never_exclude, self.never_add = protected
        self.common = MAX_SHARE * len(corpus.texts)
        self.rank = {key: spread_order(key) for key in corpus.texts}
        # MIN_LIFT, or half the lift a word found only in relevant stories would have, if that is less
        self.min_lift = min(MIN_LIFT, 0.5 * len(corpus.texts) / self.total) if self.total else MIN_LIFT

    def part(self, plan: Plan, part: str) -> set[int]:
        """What one kept alternative hits, within its context words when it has them."""
        found = set(self.part_hits[part])
        if part in plan.context:
            found &= set().union(*(self.corpus.having(word) for word in plan.context[part]))
        return found

    def hits(self, plan: Plan, without: str | None = None) -> set[int]:
        found: set[int] = set()
        for part in plan.keep:
            if part != without:
                found |= self.part(plan, part)
        for word in plan.add:
            found |= self.corpus.having(word)
        for word in plan.exclude:
            found -= self.corpus.having(word)
        return found

    def score(self, hits: set[int]) -> float:
        return 2 * sum(self.weights[key] for key in hits) / (len(hits) + self.total) if self.total else 0.0

    def run(self, plan: Plan, allowed: Callable[[Plan], bool] = lambda plan: True) -> list[Plan]:
        """Every plan on the greedy path, the unchanged one first; each step is the best-scoring
        edit that `allowed` (the rule's examples) accepts."""
        path = [plan]
        hits = self.hits(plan)
        current = self.score(hits)
        for _ in range(MAX_EDITS):
            options = [option for option in self.ranked_edits(path[-1], hits) if option[0] > current + MIN_GAIN]
            best = next((option for option in options[:TRIES] if allowed(option[1])), None)
            if best is None:
                break
            current, plan = best
            path.append(plan)
            hits = self.hits(plan)
        return path

    def ranked_edits(self, plan: Plan, hits: set[int]) -> list[tuple[float, Plan]]:
        """The edits, best first; between equal scores, a plain word before a title one, then the
        rarer word, then the longer one."""
        options = [*self.additions(plan, hits), *self.exclusions(plan, hits), *self.drops(plan, hits),
                   *self.narrowings(plan, hits), *self.widenings(plan, hits)]
        options = [option for option in options if count_terms(render(option[1])) <= MAX_TERMS]
        options.sort(key=lambda option: (round(option[0], 9), not option[2].startswith("title:"),
                                         -len(self.corpus.having(option[2])), len(option[2])), reverse=True)
        return [option[:2] for option in options]

    def excluded(self, plan: Plan) -> set[int]:
        return set().union(*(self.corpus.having(word) for word in plan.exclude))

    def fair_sample(self, region: set[int]) -> tuple[int, int]:
        """Relevant and irrelevant labels of the region's fair sample: its texts in spread order
        (matching.candidates offers what an edit changes, and the hits, in that order) up to the
        first one not labelled. The other labels were asked for because the model found them
        likely relevant or likely not, so they overstate whatever the model believes; only this
        sample says how the region's unlabelled texts will turn out."""
        if not self.confirmed:  # a proposal, to be tested: every label counts
            return len(region & self.positives), len(region & self.negatives)
        open_ranks = [self.rank[key] for key in region if key not in self.labels]
        stop = min(open_ranks) if open_ranks else math.inf
        sample = [self.labels[key] for key in region if key in self.labels and self.rank[key] < stop]
        return sum(sample), len(sample) - sum(sample)

    def backed_gain(self, gained: set[int]) -> bool:
        """Whether the labelled texts an edit gains back it: enough relevant ones, and a precision
        in the region's fair sample whose lower 95% bound clears GAIN_BOUND (thousands of words
        are tried, so a few lucky labels must not be enough)."""
        found, wrong = len(gained & self.positives), len(gained & self.negatives)
        if found + wrong == len(gained):  # all of it labelled: nothing to extrapolate
            return found >= MIN_SUPPORT and found > wrong
        fair_found, fair_wrong = self.fair_sample(gained)
        return (found >= MIN_SUPPORT and wilson_bounds(fair_found, fair_found + fair_wrong)[0] >= GAIN_BOUND
                and fair_found + fair_wrong >= min(REGION_LABELS, len(gained) / COVER))

    def backed_loss(self, lost: set[int]) -> bool:
        """Whether the labelled texts an edit removes back it: enough false hits, and in the
        region's fair sample hardly a relevant one and labels on enough of it (a common word
        removes many texts nobody judged, and the model's guess for those is least trusted)."""
        found, wrong = len(lost & self.positives), len(lost & self.negatives)
        if found + wrong == len(lost):  # all of it labelled: nothing to extrapolate
            return wrong >= EXCLUDE_SUPPORT and found <= EXCLUDE_COST * wrong
        fair_found, fair_wrong = self.fair_sample(lost)
        return (wrong >= EXCLUDE_SUPPORT and found <= EXCLUDE_COST * wrong
                and fair_found <= EXCLUDE_COST * fair_wrong
                and wilson_bounds(fair_found, fair_found + fair_wrong)[1] <= LOSS_BOUND
                and fair_found + fair_wrong >= min(REGION_LABELS, max(EXCLUDE_SUPPORT, len(lost) / COVER)))

    def lift(self, word: str) -> float:
        """How much more often the labelled relevant stories have the word than the pool does."""
        having = self.corpus.having(word)
        share = len(having & self.positives) / len(self.positives) if self.positives else 0.0
        return share * len(self.corpus.texts) / len(having) if having else 0.0

    def additions(self, plan: Plan, hits: set[int]):
        missed = [key for key in self.positives if key not in hits]
        excluded = self.excluded(plan)
        counts = Counter(word for key in missed for word in self.corpus.words[key] if is_plain_word(word))
        titles = Counter(f"title:{fold_word(word)}" for key in missed
                         for word in split_words(self.corpus.texts[key].title))
        for word, count in [*counts.items(), *titles.items()]:
            bare = word.removeprefix("title:")
            if (count < MIN_SUPPORT or word in plan.add or word in plan.keep or bare in plan.exclude
                    or bare in self.never_add or not is_plain_word(bare)):
                continue
            if len(self.corpus.having(word)) > self.common:
                continue
            if self.lift(word) < self.min_lift:
                continue
            gained = self.corpus.having(word) - hits - excluded
            if not self.backed_gain(gained):
                continue
            edited = plan.copy()
            edited.add.append(word)
            yield self.score(hits | gained), edited, word

    def exclusions(self, plan: Plan, hits: set[int]):
        false_hits = [key for key in self.negatives if key in hits]
        counts = Counter(word for key in false_hits for word in self.corpus.words[key] if is_plain_word(word))
        for word, count in counts.items():
            if count < EXCLUDE_SUPPORT or word in plan.exclude or word in plan.add or word in self.never_exclude:
                continue
            if len(self.corpus.having(word)) > self.common:
                continue
            lost = self.corpus.having(word) & hits
            if not self.backed_loss(lost):
                continue
            edited = plan.copy()
            edited.exclude.append(word)
            yield self.score(hits - lost), edited, word

    def drops(self, plan: Plan, hits: set[int]):
        if len(plan.keep) + len(plan.add) < 2:
            return
        for part in plan.keep:
            edited = plan.copy()
            edited.keep.remove(part)
            edited.context.pop(part, None)
            edited.dropped.append(part)
            remaining = self.hits(edited)
            lost = hits - remaining
            found, wrong = len(lost & self.positives), len(lost & self.negatives)
            mostly_wrong = found + wrong >= EXCLUDE_SUPPORT and wilson_bounds(found, found + wrong)[1] < DROP_BOUND
            if found > max(1, DROP_COST * wrong) and not mostly_wrong:
                continue
            yield self.score(remaining), edited, part

    def narrowings(self, plan: Plan, hits: set[int]):
        """A kept alternative that must come with one of a few context words (`trade AND (deficit
        OR surplus)`): the words picked one by one, each for the relevant stories it keeps."""
        excluded = self.excluded(plan)
        for part in plan.keep:
            if part in plan.context:
                continue
            others = self.hits(plan, without=part)
            region = self.part_hits[part] - others - excluded
            if len(region & self.negatives) < EXCLUDE_SUPPORT:
                continue
            context, kept = self.pick_context(region, others, excluded)
            if not context or not self.backed_loss(region - kept):
                continue
            edited = plan.copy()
            edited.context[part] = context
            yield self.score(others | kept), edited, part

    def pick_context(self, region: set[int], others: set[int], excluded: set[int]) -> tuple[list[str], set[int]]:
        """Greedy context words for a region of hits: the best-scoring word each time, while the
        score grows and each word keeps at least MIN_SUPPORT labelled relevant stories."""
        counts = Counter(word for key in region & self.positives for word in self.corpus.words[key]
                         if is_plain_word(word) and word not in self.never_add)
        words = [word for word, count in counts.items() if count >= MIN_SUPPORT]
        context: list[str] = []
        kept: set[int] = set()
        best = -1.0
        for _ in range(MAX_CONTEXT):
            options = []
            for word in words:
                more = (self.corpus.having(word) & region) - kept
                if word in context or not self.backed_gain(more):
                    continue
                options.append((self.score(others | kept | more), word, more))
            if not options:
                break
            score, word, more = max(options, key=lambda option: (round(option[0], 9), option[1]))
            if score <= best + MIN_GAIN / 2:
                break
            best, kept = score, kept | more
            context.append(word)
        return context, kept

    def widenings(self, plan: Plan, hits: set[int]):
        """One more context word for an alternative that has them."""
        excluded = self.excluded(plan)
        for part, context in plan.context.items():
            region = set(self.part_hits[part]) - hits - excluded
            counts = Counter(word for key in region & self.positives for word in self.corpus.words[key]
                             if is_plain_word(word) and word not in self.never_add)
            for word, count in counts.items():
                if count < MIN_SUPPORT or word in context:
                    continue
                gained = self.corpus.having(word) & region
                if not self.backed_gain(gained):
                    continue
                edited = plan.copy()
                edited.context[part].append(word)
                yield self.score(hits | gained), edited, word


def spread_order(key: int) -> int:
    """A fixed pseudo-random order of texts (Knuth's multiplicative hash), the same on every run:
    a region's texts taken in this order are a fair sample of it."""
    return (key * 2654435761) % 2**32


def wilson_bounds(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion ((0, 1) without trials)."""
    if not trials:
        return 0.0, 1.0
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - spread), min(1.0, centre + spread)


def is_plain_word(word: str) -> bool:
    """A word the learner may write into a query: letters only, two or more, not a function word."""
    return (len(word) >= 2 and word.isalpha() and word.isascii() and word not in FUNCTION_WORDS
            and word.upper() not in OPERATORS | {"NEAR", "ATLEAST"})


def render(plan: Plan) -> str:
    """The plan as a query a person would write."""
    parts = [*(render_part(part, plan.context.get(part, [])) for part in plan.keep), *plan.add]
    if not parts:
        return ""
    if len(parts) > 1:
        parts = [f"({part})" if " AND " in part else part for part in parts]
    body = " OR ".join(parts)
    if not plan.exclude:
        return body
    if len(parts) > 1 or re.search(r"\s", parts[0]):
        body = f"({body})"
    excluded = plan.exclude[0] if len(plan.exclude) == 1 else f"({' OR '.join(plan.exclude)})"
    return f"{body} NOT {excluded}"


def render_part(part: str, context: list[str]) -> str:
    """A kept alternative with its context words: `trade AND (deficit OR surplus)`."""
    if not context:
        return part
    return f"{part} AND {context[0] if len(context) == 1 else '(' + ' OR '.join(context) + ')'}"


def count_terms(query: str) -> int:
    """Terms as written: each word, phrase or alias outside the operators."""
    phrases = re.findall(r'"[^"]*"', query)
    rest = re.sub(r'"[^"]*"', " ", query)
    words = [w for w in re.findall(r"[^\s()]+", rest)
             if w not in OPERATORS and not re.fullmatch(r"(NEAR|ATLEAST)/\d+", w) and not w.endswith(":")]
    return len(phrases) + len(words)


def keeps_examples(rule: RuleConfig, aliases: Mapping[str, AliasGroup], query: str,
                   examples: Sequence[tuple[MatchInput, bool]]) -> bool:
    """Whether the query compiles and still agrees with every one of the rule's examples."""
    try:
        ruleset = compile_rules([replace(rule, query=query)], aliases)
    except (QueryError, QueryErrors):
        return False
    return all(bool(ruleset.match(doc)) == expected for doc, expected in examples)


def judge(query: str, change: str, hits: frozenset[int], current: frozenset[int], labels: Mapping[int, bool],
          search: Search) -> Suggestion:
    """The suggestion with the labelled texts it fixes and breaks (matched for real)."""
    fixes = tuple(sorted(k for k, rel in labels.items() if (k in hits) == rel and (k in current) != rel))
    breaks = tuple(sorted(k for k, rel in labels.items() if (k in hits) != rel and (k in current) == rel))
    return Suggestion(query, change, fixes, breaks, hits, search.score(set(hits)))


def describe(plan: Plan, start: Plan, labels: Mapping[int, bool]) -> str:
    """One sentence: what changes and which labels back it."""
    said = []
    excluded = [word for word in plan.exclude if word not in start.exclude]
    if plan.add:
        said.append(f"add {', '.join(plan.add)} as alternatives (for relevant stories the rule misses)")
    if excluded:
        said.append(f"exclude {', '.join(excluded)} (words of its false hits)")
    if plan.dropped:
        said.append(f"drop {', '.join(plan.dropped)} (it finds mostly irrelevant stories)")
    for part, context in plan.context.items():
        new = [word for word in context if word not in start.context.get(part, [])]
        if new and part in start.context:
            said.append(f"accept {', '.join(new)} as context of {part} too (relevant stories with them)")
        elif new:
            said.append(f"keep {part} only with {' or '.join(new)} (its hits without them are mostly irrelevant)")
    said[0] = said[0][0].upper() + said[0][1:]
    return "; ".join(said) + f". Learned from {len(labels)} label(s)."
