"""The feedback benchmark: seed rules taught by an analyst who answers from the topic labels.

    python bench/feedback.py [--budget 200] [--rounds 5] [--topics earn,acq] [--keep DIR] [--stored DIR]

1. The Reuters-21578 ModApte train split (../shared/data/reuters-21578/) is served as RSS
   feeds and article pages by a real HTTP server on 127.0.0.1, and one newswatch pass
   (flows.run_pass, no Prefect server) stores it.
2. rules.yaml is `seed_rules.yaml` (block style, with comments). For each seed rule, for
   `--rounds` rounds: `newswatch rules candidates --rule R --limit budget/rounds --json`,
   the analyst labels every candidate with `newswatch label` (relevant when the story's
   TRAIN topic labels hold the rule's topic), then `newswatch rules suggest --rule R --apply`.
   Everything goes through the CLI (in this process), against the stored articles.
3. Only then are the TEST split's topic labels read: the seed rules and the taught rules are
   matched against the test stories (title and text, as `rules test` would) and per-topic
   and micro-averaged precision, recall and F1 are printed, with labels used and time.
`newswatch check` must pass on the taught rules.yaml (their examples included).

`--keep DIR` keeps the config and database, and a copy of the database as the pass left it
(DIR/train-pass.db); `--stored DIR` starts from that copy instead of serving and storing the
train split again (minutes saved when comparing learner settings; the article ids, and so
the spread order of the candidates, stay the same from run to run).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import shutil
import sys
import tempfile
import time
from html import escape
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "reuters-21578"
FEED_SIZE = 400


def load_stories(split: str) -> list[dict]:
    """The stories of one split (the test split is read only for the final measurement)."""
    with gzip.open(DATA / "modapte.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [story for story in map(json.loads, lines) if story["split"] == split]


def page_of(story: dict) -> str:
    paragraphs = [" ".join(block.split()) for block in (story["text"] or "").split("\n    ") if block.strip()]
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    title = escape(story["title"] or "(untitled)")
    return (f"<!doctype html><html lang=\"en\"><head><title>{title}</title></head><body><article>"
            f"<h1>{title}</h1>{body}</article></body></html>")


def serve_train(site, train: list[dict]) -> tuple[list[str], dict[str, dict]]:
    """Pages and feeds of FEED_SIZE stories each; the feed URLs, and URL -> story."""
    from newswatch.demo.feed import build_rss

    by_url, feeds = {}, []
    for start in range(0, len(train), FEED_SIZE):
        items = []
        for story in train[start:start + FEED_SIZE]:
            url = site.add(f"/story/{story['doc_id']}.html", page_of(story))
            by_url[url] = story
            items.append({"title": story["title"] or "(untitled)", "link": url,
                          "description": " ".join((story["text"] or "").split())[:2000]})
        feeds.append(site.add(f"/feed/{start // FEED_SIZE}.xml", build_rss(items, f"Reuters {start}"),
                              content_type="application/rss+xml"))
    return feeds, by_url


RULES_HEAD = """# Seed rules of the feedback benchmark (bench/feedback.py): one rule per Reuters topic.
# `newswatch rules suggest --apply` rewrites a rule's query and adds examples; the rest stays.

rules:
"""


def write_config(directory: Path, feeds: list[str], seeds: list[dict]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    settings = {"database_url": "sqlite:///newswatch.db",
                "fetch": {"allowed_networks": ["127.0.0.0/8"], "per_host_concurrency": 8, "concurrency": 8,
                          "timeout_seconds": 30}}
    (directory / "settings.yaml").write_text(yaml.safe_dump(settings))
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [{"url": u, "name": f"Reuters {i}"}
                                                                    for i, u in enumerate(feeds)]}))
    (directory / "channels.yaml").write_text("channels: {}\n")
    rules = "".join(f"  # topic: {seed['topic']}\n  - name: {seed['name']}\n    query: '{seed['query']}'\n\n"
                    for seed in seeds)
    (directory / "rules.yaml").write_text(RULES_HEAD + rules)


def reuse_pass(stored: Path, config_dir: Path, seeds: list[dict], train: list[dict]) -> dict[str, dict]:
    """A config over the database a --keep run stored (no pass); URL -> story, by the story's id
    in the page's path (the server that served them is gone)."""
    if not (stored / "train-pass.db").exists():
        raise SystemExit(f"{stored / 'train-pass.db'}: not found; run once with --keep {stored}")
    feeds = [feed["url"] for feed in yaml.safe_load((stored / "config" / "feeds.yaml").read_text())["feeds"]]
    write_config(config_dir, feeds, seeds)
    shutil.copyfile(stored / "train-pass.db", config_dir / "newswatch.db")
    by_id = {str(story["doc_id"]): story for story in train}
    return StoriesByUrl(by_id)


class StoriesByUrl(dict):
    """URL -> story, for pages served as /story/<doc_id>.html on any host."""

    def __init__(self, by_id: dict[str, dict]):
        super().__init__()
        self.by_id = by_id

    def __missing__(self, url: str) -> dict:
        return self.by_id[url.rsplit("/", 1)[1].removesuffix(".html")]


def cli(*argv: str) -> tuple[int, str]:
    from newswatch.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code not in (0,):
        raise SystemExit(f"newswatch {' '.join(argv)} failed ({code}): {err.getvalue()}")
    return code, out.getvalue()


def teach(config_dir: Path, seed: dict, by_url: dict[str, dict], budget: int, rounds: int) -> dict:
    """Rounds of candidates -> labels -> suggest --apply for one rule; labels used and queries."""
    used, queries = 0, []
    for round_number in range(rounds):
        want = min(budget - used, -(-budget // rounds))
        if want <= 0:
            break
        _, out = cli("rules", "candidates", "--config", str(config_dir), "--rule", seed["name"],
                     "--limit", str(want), "--json")
        chosen = json.loads(out)
        answers = {True: [], False: []}
        for candidate in chosen:
            answers[seed["topic"] in by_url[candidate["url"]]["topics"]].append(candidate["url"])
        for relevant, urls in answers.items():
            if urls:
                cli("label", "--config", str(config_dir), "--rule", seed["name"],
                    "--relevant" if relevant else "--irrelevant", *urls)
        used += len(chosen)
        _, out = cli("rules", "suggest", "--config", str(config_dir), "--rule", seed["name"], "--apply")
        queries.append(out.strip().splitlines()[0] if out.strip() else "")
    return {"labels": used, "log": queries}


def measure(rules: dict[str, str], topics: dict[str, str], test: list[dict]) -> dict[str, tuple[int, int, int]]:
    """rule -> (true positives, false positives, false negatives) on the test stories."""
    from config.models import RuleConfig
    from matching import compile_rules
    from matching.models import MatchInput

    ruleset = compile_rules([RuleConfig(name=n, query=q) for n, q in rules.items()], {})
    counts = {name: [0, 0, 0] for name in rules}
    for story in test:
        found = {m.rule for m in ruleset.match(MatchInput(title=story["title"] or "", body=story["text"] or ""))}
        for name in rules:
            relevant = topics[name] in story["topics"]
            if name in found:
                counts[name][0 if relevant else 1] += 1
            elif relevant:
                counts[name][2] += 1
    return {name: tuple(c) for name, c in counts.items()}


def scores(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (2 * tp / (2 * tp + fp + fn) if tp else 0.0)


def summed(counts: dict[str, tuple[int, int, int]]) -> tuple[int, int, int]:
    return tuple(sum(c[k] for c in counts.values()) for k in range(3))


def print_table(before: dict, after: dict, labels: dict[str, int], seconds: dict[str, float]) -> None:
    print("| topic | P before | R before | F1 before | P after | R after | F1 after | labels | time (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in before:
        b, a = scores(*before[name]), scores(*after[name])
        print(f"| {name} | {b[0]:.3f} | {b[1]:.3f} | {b[2]:.3f} | {a[0]:.3f} | {a[1]:.3f} | {a[2]:.3f} | "
              f"{labels[name]} | {seconds[name]:.0f} |")
    b, a = scores(*summed(before)), scores(*summed(after))
    print(f"| **micro** | {b[0]:.3f} | {b[1]:.3f} | **{b[2]:.3f}** | {a[0]:.3f} | {a[1]:.3f} | **{a[2]:.3f}** | "
          f"{sum(labels.values())} | {sum(seconds.values()):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=200, help="labels per rule (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="label-suggest rounds per rule (default 5)")
    parser.add_argument("--topics", help="only these seed rules (comma-separated)")
    parser.add_argument("--keep", type=Path, help="keep the config and database in this directory")
    parser.add_argument("--stored", type=Path, help="start from the stored train split a --keep run left there")
    args = parser.parse_args()

    from config import load_config
    from flows.run_pass import run_pass
    from newswatch.demo.servers import Site

    train = load_stories("train")
    seeds = yaml.safe_load((DATA / "seed_rules.yaml").read_text())["rules"]
    if args.topics:
        seeds = [s for s in seeds if s["name"] in args.topics.split(",")]
    site = Site()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="newswatch-feedback-"))
    config_dir = workdir / "config"
    try:
        if args.stored:
            by_url = reuse_pass(args.stored, config_dir, seeds, train)
        else:
            feeds, by_url = serve_train(site, train)
            write_config(config_dir, feeds, seeds)
            started = time.perf_counter()
            summary = run_pass(load_config(config_dir))
            print(f"pass: {summary.new_articles} train stories stored in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)
            shutil.copyfile(config_dir / "newswatch.db", workdir / "train-pass.db")
        labels, seconds = {}, {}
        for seed in seeds:
            started = time.perf_counter()
            taught = teach(config_dir, seed, by_url, args.budget, args.rounds)
            labels[seed["name"]], seconds[seed["name"]] = taught["labels"], time.perf_counter() - started
            print(f"[{seed['name']}] {taught['labels']} labels, {seconds[seed['name']]:.0f} s", file=sys.stderr)
        cli("check", "--config", str(config_dir))
    finally:
        site.close()
    taught_rules = {rule.name: rule.query for rule in load_config(config_dir).rules}
    test = load_stories("test")  # the test split's topic labels: read from here on only
    topics = {seed["name"]: seed["topic"] for seed in seeds}
    before = measure({seed["name"]: seed["query"] for seed in seeds}, topics, test)
    after = measure(taught_rules, topics, test)
    print_table(before, after, labels, seconds)
    for name, query in taught_rules.items():
        print(f"- {name}: `{query}`")
    print(f"(config and database: {workdir})", file=sys.stderr)


if __name__ == "__main__":
    main()
