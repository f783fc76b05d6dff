"""What loading many watch rules adds to a command, measured through the CLI.

    python bench/rules_load.py [--rules 10000] [--repeat 3]

Writes two config directories that differ only in rules.yaml: 10 rules, and --rules rules
(written by `bench/matching.py`'s generator from the benchmark articles: entities, entity
phrases, alias groups, AND/OR/NEAR/NOT/ATLEAST/title:/body:). Then runs, in fresh
processes, `newswatch check` and `newswatch rules test ARTICLE` against each, first with no
rule-set cache (a cold start: the config directory was just written) and then as every
later command runs (the cache of compiled rule sets beside the config, see
`matching.cache`). Prints the best CPU time of --repeat runs of each (the command's own
work, which other jobs on a shared machine skew little; wall clock beside it) and the time
the many rules add. Goal: <= 1 s added at 10,000 rules for every command, cache warm.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def load_matching_bench():
    """bench/matching.py's rule generator (loaded by path: its name is the package's)."""
    spec = importlib.util.spec_from_file_location("bench_matching", Path(__file__).with_name("matching.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_generator = load_matching_bench()
CORPUS, load_texts, make_aliases = _generator.CORPUS, _generator.load_texts, _generator.make_aliases
make_rules, rule_vocabulary = _generator.make_rules, _generator.rule_vocabulary

GOAL_SECONDS = 1.0


def yaml_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_config(directory: Path, count: int, seed: int) -> None:
    """A config directory with `count` generated rules, one feed and a private data dir."""
    rule_texts, _ = load_texts()
    vocabulary = rule_vocabulary(rule_texts)
    aliases = make_aliases(vocabulary, random.Random(seed))
    rules = make_rules(count, vocabulary, aliases, seed)
    directory.mkdir(parents=True)
    lines = ["aliases:"]
    for name, group in aliases.items():
        lines.append(f"  {name}:")
        lines += [f"    - {yaml_string(entry)}" for entry in group.entries]
    lines.append("rules:")
    for rule in rules:
        lines += [f"  - name: {rule.name}", f"    query: {yaml_string(rule.query)}"]
    (directory / "rules.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "feeds.yaml").write_text("feeds:\n  - url: https://news.example/feed.xml\n", encoding="utf-8")
    (directory / "settings.yaml").write_text("data_dir: data\n", encoding="utf-8")
    (directory / "data").mkdir()  # as after a first run: the rule-set cache lives in it


def run_seconds(arguments: list[str]) -> tuple[float, float]:
    """(CPU, wall-clock) seconds of one CLI run in a fresh process (its output is checked, not shown)."""
    before = children_cpu()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "newswatch", *arguments], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"newswatch {' '.join(arguments)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return children_cpu() - before, elapsed


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def clear_cache(config: Path) -> None:
    shutil.rmtree(config / "data" / "cache", ignore_errors=True)


def best_seconds(arguments: list[str], config: Path, repeat: int, cold: bool) -> tuple[float, float]:
    """The best (CPU, wall-clock) seconds of `repeat` runs."""
    times = []
    for _ in range(repeat):
        if cold:
            clear_cache(config)
        times.append(run_seconds(arguments))
    return min(cpu for cpu, _ in times), min(wall for _, wall in times)


def shown(seconds: tuple[float, float]) -> str:
    return f"{seconds[0]:.2f} ({seconds[1]:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not CORPUS.exists():
        print(f"skipped: corpus not found at {CORPUS} (put ../shared beside the repository)")
        return
    work = Path(tempfile.mkdtemp(prefix="nw-rules-load-"))
    try:
        few, many = work / "few", work / "many"
        write_config(few, 10, args.seed)
        write_config(many, args.rules, args.seed)
        article = work / "article.txt"
        article.write_text(load_texts()[1][0], encoding="utf-8")
        commands = {"check": ["check"], "rules test": ["rules", "test", str(article)]}
        print(f"{args.rules:,} rules ({(many / 'rules.yaml').stat().st_size / 1e6:.1f} MB of rules.yaml) against 10;"
              f" best of {args.repeat} fresh processes; CPU seconds of the command (wall clock in brackets)")
        print(f"{'command':<12} {'cache':<6} {'10 rules s':>14} {f'{args.rules:,} rules s':>16} {'added s':>14}")
        worst = (0.0, 0.0)
        for cold in (True, False):
            for label, arguments in commands.items():
                base = best_seconds([*arguments, "--config", str(few)], few, args.repeat, cold)
                if not cold:
                    run_seconds([*arguments, "--config", str(many)])  # fills the cache
                loaded = best_seconds([*arguments, "--config", str(many)], many, args.repeat, cold)
                added = (loaded[0] - base[0], loaded[1] - base[1])
                print(f"{label:<12} {'cold' if cold else 'warm':<6} {shown(base):>14} {shown(loaded):>16} {shown(added):>14}")
                if not cold:
                    worst = max(worst, added)
        met = worst[0] <= GOAL_SECONDS
        print(f"  added load time at {args.rules:,} rules (worst command, cache warm): {worst[0]:.2f} s CPU"
              f" ({worst[1]:.2f} s wall clock)  (goal <= {GOAL_SECONDS:.0f} s: {'met' if met else 'MISSED'})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
