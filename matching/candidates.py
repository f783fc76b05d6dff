"""Where to label next: the stored texts whose labels would teach a rule the most.

`rank_candidates(rule, aliases, pool, labels, limit)` leaves out what is labelled and
takes, in turn, from four queues, each with a reason a person can check:
- what the best edit every label proposes would change (texts it would add or remove,
  in a fixed spread order, so the sample is fair): `suggest` applies an edit only once
  such a fair sample of what it changes backs it (matching.learning), so labels there
  test the proposal before anyone applies it;
- hits that look least like the stories marked relevant (likely false hits: what an
  exclusion would remove);
- texts the rule misses that look most like them (likely misses: what an added word
  would gain);
- hits in a fixed spread order, so the rule's measured precision is not only the
  doubtful cases.
Before there is a label of each kind, only hits are offered (spread order), then texts
that share words with the labelled relevant ones. Pure logic, no database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from config.models import AliasGroup, RuleConfig
from matching.learning import Corpus, Text, is_plain_word, match_keys, spread_order, suggest_queries
from matching.relevance import RelevanceModel, train_relevance


@dataclass(frozen=True)
class Candidate:
    key: int
    hit: bool
    why: str | Callable[[], str]  # a callable is worded only if the candidate is chosen


def rank_candidates(rule: RuleConfig, aliases: Mapping[str, AliasGroup], pool: Sequence[Text] | Corpus,
                    labels: Mapping[int, bool], limit: int = 20) -> list[Candidate]:
    """Up to `limit` unlabelled texts, best first."""
    corpus = pool if isinstance(pool, Corpus) else Corpus(pool)
    hits = match_keys(rule, aliases, rule.query, corpus)
    open_keys = [key for key in corpus.texts if key not in labels]
    model = train_relevance({key: (corpus.words[key], rel) for key, rel in labels.items() if key in corpus.words})
    spread = sorted((key for key in open_keys if key in hits), key=spread_order)
    if model is None:
        queues = [[Candidate(key, True, "a hit not labelled yet: is the rule right here?") for key in spread]]
    else:
        queues = [disputed(rule, aliases, corpus, labels, hits),
                  doubtful_hits(corpus, model, open_keys, hits), likely_misses(corpus, model, open_keys, hits),
                  [Candidate(key, True, "a hit picked at random: keeps the precision estimate honest")
                   for key in spread]]
    return interleave(queues, limit)


def disputed(rule: RuleConfig, aliases: Mapping[str, AliasGroup], corpus: Corpus, labels: Mapping[int, bool],
             hits: frozenset[int]) -> list[Candidate]:
    """Unlabelled texts the best proposed edit would add or remove, in spread order."""
    best = next(iter(suggest_queries(rule, aliases, corpus, labels, limit=1, confirmed=False)), None)
    if best is None:
        return []
    changed = sorted((key for key in best.hits ^ hits if key not in labels), key=spread_order)
    return [Candidate(key, key in hits, f"the suggested edit would {'drop it from' if key in hits else 'add it to'} "
                                        f"the hits ({best.query}): is that right?") for key in changed]


def doubtful_hits(corpus: Corpus, model: RelevanceModel, keys: list[int], hits: frozenset[int]) -> list[Candidate]:
    scored = sorted((model.probability(corpus.words[key]), key) for key in keys if key in hits)
    return [Candidate(key, True, lambda key=key: "a hit unlike the stories marked relevant "
                                                f"({telling_words(corpus, model, key, -1)})") for _, key in scored]


def likely_misses(corpus: Corpus, model: RelevanceModel, keys: list[int], hits: frozenset[int]) -> list[Candidate]:
    scored = sorted(((-model.probability(corpus.words[key]), key) for key in keys if key not in hits))
    return [Candidate(key, False, lambda key=key: "not a hit, but like the stories marked relevant "
                                                 f"({telling_words(corpus, model, key, 1)})") for _, key in scored]


def telling_words(corpus: Corpus, model: RelevanceModel, key: int, sign: int) -> str:
    """The words of the text that pull it most towards relevant (sign 1) or irrelevant (-1)."""
    weighted = sorted((sign * model.weights.get(word, 0.0), word) for word in corpus.words[key] if is_plain_word(word))
    words = [word for weight, word in reversed(weighted[-3:]) if weight > 0]
    return ("mentions " + ", ".join(words)) if words else "no telling words"


def interleave(queues: list[list[Candidate]], limit: int) -> list[Candidate]:
    chosen: dict[int, Candidate] = {}
    positions = [0] * len(queues)
    while len(chosen) < limit and any(p < len(q) for p, q in zip(positions, queues)):
        for index, queue in enumerate(queues):
            while positions[index] < len(queue) and queue[positions[index]].key in chosen:
                positions[index] += 1
            if positions[index] < len(queue) and len(chosen) < limit:
                chosen[queue[positions[index]].key] = queue[positions[index]]
                positions[index] += 1
    return [replace(c, why=c.why()) if callable(c.why) else c for c in chosen.values()]
