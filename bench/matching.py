"""Benchmark of the rule matcher: docs/second at 100, 1,000 and 10,000 rules, and hostile inputs.

    python bench/matching.py [--docs 1000] [--plain-docs 100] [--seed 7]

Reads the human-written article bodies of ../shared/data/article-extraction-benchmark
(181 texts, cycled and perturbed to reach --docs), draws realistic rules from the corpus
vocabulary (words, phrases, ORs, NOT, NEAR, ATLEAST, fields, aliases) and prints, per
rule count, docs/s of the compiled matcher (`RuleSet.match`, with its prefilter) and of
the plain loop that evaluates every rule on every article (`RuleSet.match_every_rule`,
same compiled rules, no prefilter), their ratio, and whether the goals hold:
  - at 10,000 rules the matcher handles >= 20x the docs/s of the plain loop;
  - its cost per doc at 10,000 rules is <= 5x its cost at 100 rules;
  - each hostile input (1 MB of one repeated word, deeply nested text, a rule with a
    500-entry alias) is matched in < 100 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.models import AliasGroup, RuleConfig  # noqa: E402
from matching import MatchInput, RuleSet, compile_rules  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "data" / "article-extraction-benchmark" / "ground-truth.json"
RULE_COUNTS = (100, 1_000, 10_000)
WORD_RE = re.compile(r"[A-Za-z]{4,}")


def load_texts() -> list[str]:
    return [entry["articleBody"] for entry in json.loads(CORPUS.read_text(encoding="utf-8")).values()]


def make_documents(texts: list[str], count: int, rng: random.Random) -> list[MatchInput]:
    """`count` articles: the corpus cycled, each copy after the first with its
    paragraphs rotated and some dropped, so no two documents are identical."""
    documents = []
    for index in range(count):
        paragraphs = [p for p in texts[index % len(texts)].split("\n") if p.strip()] or [""]
        if index >= len(texts):
            shift = rng.randrange(len(paragraphs))
            paragraphs = paragraphs[shift:] + paragraphs[:shift]
            paragraphs = [p for p in paragraphs if rng.random() > 0.2] or paragraphs[:1]
        documents.append(MatchInput(title=paragraphs[0][:120], body="\n".join(paragraphs[1:])))
    return documents


def topic_words(texts: list[str]) -> tuple[list[str], list[str]]:
    """What people watch for: words in at most 5% of articles (no stop words), and
    phrases in at most 5%, of two such words or of one such word and a word in at most
    20% of articles ("personal data", not "they would")."""
    document_frequency: Counter[str] = Counter()
    bigram_frequency: Counter[str] = Counter()
    for text in texts:
        words = WORD_RE.findall(text.lower())  # the matcher ignores case, so must this count
        document_frequency.update(set(words))
        bigram_frequency.update({f"{a} {b}" for a, b in zip(words, words[1:])})
    limit = max(3, len(texts) // 20)
    topical = {w for w, n in document_frequency.items() if n <= limit}
    plain = {w for w, n in document_frequency.items() if n <= len(texts) // 5}
    bigrams = sorted(
        b for b, n in bigram_frequency.items()
        if n <= limit and set(b.split()) <= plain and set(b.split()) & topical
    )
    return sorted(topical), bigrams


def make_aliases(words: list[str], bigrams: list[str], rng: random.Random) -> dict[str, AliasGroup]:
    aliases = {}
    for index in range(60):
        entries = rng.sample(words, rng.randint(3, 8)) + rng.sample(bigrams, rng.randint(1, 3))
        aliases[f"topic{index}"] = AliasGroup(f"topic{index}", tuple(entries))
    return aliases


def make_query(words: list[str], bigrams: list[str], aliases: list[str], rng: random.Random) -> str:
    w = lambda: rng.choice(words)  # noqa: E731
    phrase = lambda: f'"{rng.choice(bigrams)}"'  # noqa: E731
    templates = [
        lambda: f"{phrase()} OR {phrase()}",
        lambda: f"({w()} OR {w()}) AND {w()}",
        lambda: f"{w()} {w()} NOT {w()}",
        lambda: f"{w()} NEAR/10 ({w()} OR {phrase()})",
        lambda: f"@{rng.choice(aliases)} AND ({w()} OR {phrase()})",
        lambda: f"@{rng.choice(aliases)} NEAR/15 @{rng.choice(aliases)}",
        lambda: f"{w()[:6]}* AND ({w()} OR {phrase()})",
        lambda: f"title:({w()} OR {w()}) OR body:({phrase()} NEAR/5 {w()})",
        lambda: f"ATLEAST/2 {w()} AND NOT {w()}",
        lambda: f"{phrase()} OR ({w()} AND {w()} AND {w()})",
    ]
    if rng.random() < 0.0005:
        return f"NOT {w()} AND NOT {w()}"  # purely negative: always evaluated
    return rng.choice(templates)()


def make_rules(count: int, words: list[str], bigrams: list[str], aliases: dict[str, AliasGroup], seed: int) -> list[RuleConfig]:
    rng = random.Random(seed)
    names = sorted(aliases)
    return [RuleConfig(name=f"rule{i}", query=make_query(words, bigrams, names, rng), content_hash=f"h{i}") for i in range(count)]


def docs_per_second(match, documents: list[MatchInput]) -> tuple[float, int]:
    for document in documents[:20]:  # warm the word-folding cache
        match(document)
    hits = 0
    start = time.perf_counter()
    for document in documents:
        hits += len(match(document))
    return len(documents) / (time.perf_counter() - start), hits


def bench_rule_counts(documents: list[MatchInput], plain_docs: int, words, bigrams, aliases, seed: int) -> dict[int, float]:
    print(f"{'rules':>7} {'compile s':>10} {'matcher docs/s':>15} {'plain docs/s':>13} {'ratio':>7} {'hits/doc':>9}")
    speeds = {}
    for count in RULE_COUNTS:
        started = time.perf_counter()
        ruleset = compile_rules(make_rules(count, words, bigrams, aliases, seed), aliases)
        compiled = time.perf_counter() - started
        check_same_answers(ruleset, documents[:plain_docs])
        fast, hits = docs_per_second(ruleset.match, documents)
        plain, _ = docs_per_second(ruleset.match_every_rule, documents[:plain_docs])
        speeds[count] = fast
        print(f"{count:>7,} {compiled:>10.2f} {fast:>15,.0f} {plain:>13,.1f} {fast / plain:>6.1f}x {hits / len(documents):>9.2f}")
        if count == RULE_COUNTS[-1]:
            report_goal(f"matcher vs plain loop at {count:,} rules: {fast / plain:.1f}x", fast / plain >= 20, ">= 20x")
    growth = speeds[RULE_COUNTS[0]] / speeds[RULE_COUNTS[-1]]
    report_goal(f"cost per doc at {RULE_COUNTS[-1]:,} rules / at {RULE_COUNTS[0]} rules: {growth:.2f}x", growth <= 5, "<= 5x")
    return speeds


def check_same_answers(ruleset: RuleSet, documents: list[MatchInput]) -> None:
    """The prefilter must never change an answer."""
    for document in documents:
        if ruleset.match(document) != ruleset.match_every_rule(document):
            raise SystemExit(f"prefilter changed the answer for {document.title!r}")


def bench_hostile(texts: list[str]) -> None:
    article = MatchInput(title="Hostile", body=texts[0])
    big_alias = {"big": AliasGroup("big", tuple(f"entity{i} name{i}*" for i in range(499)) + (texts[0].split()[5],))}
    cases = [
        ("1 MB of one repeated word, rule hits", "missile", {}, MatchInput("", "missile " * 131_072)),
        ("1 MB of one repeated word, no rule hits", "rocket", {}, MatchInput("", "missile " * 131_072)),
        ("1 MB of nested brackets", "missile", {}, MatchInput("", "(" * 500_000 + "missile" + ")" * 500_000)),
        ("1 MB of nested markup", "div", {}, MatchInput("", "<div><span>" * 95_000)),
        ("rule with a 500-entry alias", "@big AND NOT zebra", big_alias, article),
    ]
    print("\nhostile inputs (best of 3; goal < 100 ms each)")
    for label, query, aliases, document in cases:
        ruleset = compile_rules([RuleConfig(name="hostile", query=query)], aliases)
        best = min(timed(ruleset, document) for _ in range(3))
        report_goal(f"{label}: {best * 1000:.1f} ms", best < 0.1, "< 100 ms")


def timed(ruleset: RuleSet, document: MatchInput) -> float:
    start = time.perf_counter()
    ruleset.match(document)
    return time.perf_counter() - start


def report_goal(figure: str, met: bool, goal: str) -> None:
    print(f"  {figure}  (goal {goal}: {'met' if met else 'MISSED'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="articles matched by the compiled matcher")
    parser.add_argument("--plain-docs", type=int, default=100, help="articles for the (slow) plain loop")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skipped: corpus not found at {CORPUS} (put ../shared beside the repository)")
        return
    texts = load_texts()
    rng = random.Random(args.seed)
    documents = make_documents(texts, args.docs, rng)
    words, bigrams = topic_words(texts)
    aliases = make_aliases(words, bigrams, rng)
    print(f"{len(documents):,} articles, {len(words):,} topic words, {len(bigrams):,} phrases, {len(aliases)} alias groups")
    bench_rule_counts(documents, min(args.plain_docs, args.docs), words, bigrams, aliases, args.seed)
    bench_hostile(texts)


if __name__ == "__main__":
    main()
