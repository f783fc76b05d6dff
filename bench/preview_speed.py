"""How fast `rules preview`, `backfill` and `hits` run over a stored history, through the CLI.

    python bench/preview_speed.py [--articles 10000] [--rules 100]

Imports --articles articles (`newswatch import`, texts from ../shared/data as in
bench/import_speed.py, dates spread over the last year) into a fresh SQLite database, then
writes --rules rules (bench/matching.py's generator) into rules.yaml and times, each in a
fresh process:
  - `rules preview --json` over every article and over the last 30 days: the difference is
    the cost of the articles in between, per article (startup and rule loading cancel out);
  - `backfill --since 30d`, then `hits --rule X --since 7d --json` for the rule with the most hits;
and, in this process, the matcher's own cost per document (`RuleSet.match`, what
`rules test` runs) on the same texts with the same rules. Goal: preview's cost per article
within 2x of the matcher's per document. Preview uses every core: both its wall-clock and its
CPU (all processes) cost per article are printed; the goal compares CPU with CPU, which
other jobs on a shared machine skew little (wall clock there can even come out negative).
Below `flows.history_match.POOL_MIN` articles preview runs in one process.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from config.models import AliasGroup, RuleConfig  # noqa: E402
from matching import MatchInput, compile_rules  # noqa: E402


def load_bench(name: str):
    """Another bench module by path (bench/matching.py shares its name with the package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run(arguments: list[str]) -> tuple[float, float, str]:
    """(CPU seconds of the command and its workers, wall-clock seconds, stdout) of one CLI run."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "newswatch", *arguments], capture_output=True, text=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"newswatch {' '.join(arguments)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return usage.ru_utime + usage.ru_stime - before, wall, done.stdout


def write_rules(path: Path, rules: list[RuleConfig], aliases: dict[str, AliasGroup]) -> None:
    quote = lambda text: "'" + text.replace("'", "''") + "'"  # noqa: E731
    lines = ["aliases:"]
    for name, group in aliases.items():
        lines += [f"  {name}:"] + [f"    - {quote(entry)}" for entry in group.entries]
    lines.append("rules:")
    for rule in rules:
        lines += [f"  - name: {rule.name}", f"    query: {quote(rule.query)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def matcher_seconds_per_document(rules, aliases, texts: list[tuple[str, str]], count: int) -> float:
    """CPU seconds per document of `RuleSet.match` (best of 3 passes over `count` documents)."""
    ruleset = compile_rules(rules, aliases)
    documents = [MatchInput(title=title, body=text) for title, text in (texts * (count // len(texts) + 1))[:count]]
    for document in documents[:200]:
        ruleset.match(document)
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for document in documents:
            ruleset.match(document)
        best = min(best, time.process_time() - started)
    return best / len(documents)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    importer, generator = load_bench("import_speed"), load_bench("matching")
    work = Path(tempfile.mkdtemp(prefix="nw-preview-bench-"))
    try:
        config = work / "config"
        shutil.copytree(REPO / "config", config, ignore=shutil.ignore_patterns("*.py", "__pycache__", "examples"))
        settings = config / "settings.yaml"
        settings.write_text(settings.read_text().replace("sqlite:///data/newswatch.db", f"sqlite:///{work / 'bench.db'}"))
        texts = importer.source_texts()
        archive = work / "archive.jsonl"
        importer.write_archive(archive, args.articles, texts)
        cpu, wall, _ = run(["import", "--config", str(config), "--json", str(archive)])
        print(f"imported {args.articles:,} articles in {wall:.1f} s ({args.articles / wall:,.0f}/s)")

        vocabulary = generator.rule_vocabulary(generator.load_texts()[0])
        aliases = generator.make_aliases(vocabulary, random.Random(args.seed))
        rules = generator.make_rules(args.rules, vocabulary, aliases, args.seed)
        write_rules(config / "rules.yaml", rules, aliases)
        run(["check", "--config", str(config)])  # fills the rule-set cache, as any earlier command would

        every = run(["rules", "preview", "--config", str(config), "--json"])
        recent = run(["rules", "preview", "--config", str(config), "--since", "30d", "--json"])
        counted = json.loads(every[2])["articles"], json.loads(recent[2])["articles"]
        between = counted[0] - counted[1]
        per_cpu, per_wall = (every[0] - recent[0]) / between, (every[1] - recent[1]) / between
        matcher = matcher_seconds_per_document(rules, aliases, texts, min(args.articles, 5_000))
        print(f"rules preview, {args.rules} rules: {counted[0]:,} articles in {every[1]:.1f} s wall"
              f" ({every[0]:.1f} s CPU), last 30 days ({counted[1]:,}) in {recent[1]:.1f} s")
        print(f"  per article: {per_wall * 1e3:.2f} ms wall, {per_cpu * 1e3:.2f} ms CPU (all processes);"
              f" the matcher alone (rules test's RuleSet.match): {matcher * 1e3:.2f} ms CPU per document")
        ratio = per_cpu / matcher
        print(f"  preview / matcher per article: {ratio:.2f}x CPU (wall clock {per_wall / matcher:.2f}x)"
              f"  (goal <= 2x: {'met' if ratio <= 2 else 'MISSED'})")

        cpu, wall, output = run(["backfill", "--config", str(config), "--since", "30d"])
        print(f"backfill --since 30d: {wall:.1f} s wall ({cpu:.1f} s CPU): {output.strip().splitlines()[-1]}")
        counts = [(int(line.split("] ")[1].split()[0]), line[1:].split("]")[0])
                  for line in output.splitlines() if line.startswith("[")]
        busiest = max(counts)[1]
        cpu, wall, output = run(["hits", "--config", str(config), "--rule", busiest, "--since", "7d", "--json"])
        print(f"hits --rule {busiest} --since 7d: {len(json.loads(output))} hits in {wall:.2f} s wall ({cpu:.2f} s CPU)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
