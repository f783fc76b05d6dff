"""How likely an unlabelled text is relevant to a rule, learned from the analyst's labels.

A small L2-regularised logistic regression over which words a text contains (the same
folded words the matcher compares), trained on the labelled texts only: pure Python,
because a few hundred labels and a few thousand words need no numeric library. The
learner (matching.learning) uses its probabilities to estimate how a revised query would
do on the stored articles nobody labelled; labels always override it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping

EPOCHS = 150
STEP = 0.5
L2 = 0.02


class RelevanceModel:
    """word -> weight, plus a bias; `probability(words)` of a text's word set."""

    def __init__(self, weights: dict[str, float], bias: float):
        self.weights, self.bias = weights, bias

    def probability(self, words: Collection[str]) -> float:
        score = self.bias + sum(self.weights.get(word, 0.0) for word in words)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, score))))


def train_relevance(labelled: Mapping[int, tuple[frozenset[str], bool]]) -> RelevanceModel | None:
    """The model of the labels (text key -> (its words, relevant)); None without both answers."""
    answers = [relevant for _, relevant in labelled.values()]
    if all(answers) or not any(answers):
        return None
    counts = Counter(word for words, _ in labelled.values() for word in words)
    vocabulary = {word for word, count in counts.items() if count >= 2}
    rows = [([w for w in words if w in vocabulary], 1.0 if relevant else 0.0) for words, relevant in labelled.values()]
    weights: dict[str, float] = dict.fromkeys(vocabulary, 0.0)
    bias = math.log(sum(answers) / (len(answers) - sum(answers)))
    for _ in range(EPOCHS):
        bias = gradient_step(rows, weights, bias)
    return RelevanceModel(weights, bias)


def gradient_step(rows: list[tuple[list[str], float]], weights: dict[str, float], bias: float) -> float:
    """One full-batch gradient step of the regularised log-loss; returns the new bias."""
    gradient: dict[str, float] = {}
    bias_gradient = 0.0
    for words, target in rows:
        score = bias + sum(weights[w] for w in words)
        error = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, score)))) - target
        bias_gradient += error
        for word in words:
            gradient[word] = gradient.get(word, 0.0) + error
    scale = STEP / len(rows)
    for word, weight in weights.items():
        weights[word] = weight - scale * gradient.get(word, 0.0) - STEP * L2 * weight
    return bias - scale * bias_gradient


def adjust_to_pool(probabilities: list[float], labelled_share: float, rounds: int = 30) -> list[float]:
    """The probabilities re-weighted for the pool's own share of relevant texts.

    The analyst labels what looks interesting, so the labels hold far more relevant texts
    than the pool does, and a model trained on them overstates every probability. The
    pool's share is estimated by expectation-maximisation (Saerens, Latinne and Decaestecker,
    2002) and each probability moved from the labelled share to it. The estimate never exceeds
    the labelled share: where the model knows no word of a text, expectation-maximisation
    would otherwise feed its guesses back into the share until every such text counts as relevant."""
    if not probabilities or not 0 < labelled_share < 1:
        return probabilities
    share, adjusted = labelled_share, probabilities
    for _ in range(rounds):
        up, down = share / labelled_share, (1 - share) / (1 - labelled_share)
        adjusted = [up * p / (up * p + down * (1 - p)) for p in probabilities]
        share = min(max(sum(adjusted) / len(adjusted), 1e-4), labelled_share)
    return adjusted
