"""Language detection: accuracy and cost of `extractors.language` on pages and short texts.

Run: python bench/language.py [--repeats N]
Data:
  * the 181 pages of ../shared/data/article-extraction-benchmark/ through `extract_article`
    (the language newswatch stores), against bench/data/benchmark_languages.json (the
    benchmark has no language; how the reference was made is written in that file);
    beside it, how the page's own metadata (<html lang>, Content-Language meta, og:locale)
    alone would have done;
  * bench/data/short_news.json: headlines and leads in 15 languages (ko, ja, zh, ru...);
  * the entries of the real feeds in ../shared/data/feeds/ (en, de, fr, pt, uk, zh): the
    title alone, and title + summary (what a page-less fallback article holds).
"Right" is the reference language; "undecided" means too little text or an unsure
detector (newswatch then falls back to metadata, and a `languages:` rule still looks).
Cost: CPU time of `decide_language` per page (median of --repeats runs), the same as a
share of `extract_article`'s CPU time, and the one-time model load (wall time, resident
memory) per process.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extractors.articles import extract_article, page_language  # noqa: E402
from extractors.feeds import parse_feed  # noqa: E402
from extractors.language import decide_language, detection_text, load_identifier  # noqa: E402
from trafilatura.utils import load_html  # noqa: E402

from extractors.charset import decode_html  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
PAGES = SHARED / "article-extraction-benchmark"
FEEDS = SHARED / "feeds"
HERE = Path(__file__).resolve().parent / "data"
FEED_LANGUAGES = {  # from feeds/MANIFEST.tsv (outlet and edition)
    "guardian_us_2018-01.rss": "en", "theguardian_world_feeder.rss": "en", "reuters_world_2018-01.rss": "en",
    "huffpost_world_2019-06.rss": "en", "bbc_world_2017-01.rss": "en", "heise_developer_2016-02.atom": "de",
    "lemonde_feeder.rss": "fr", "uol_noticias_2018-09.rss": "pt", "ukrnet_feeder.rss": "uk",
    "geekpark_feeder.rss": "zh",
}


def resident_mb() -> float:
    """This process's resident memory (Linux /proc), in MB."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def tally(pairs) -> Counter:
    """Counter of right / wrong / undecided over (found, expected) pairs."""
    return Counter("undecided" if found is None else "right" if found == expected else "wrong"
                   for found, expected in pairs)


def describe(counts: Counter) -> str:
    total = sum(counts.values())
    decided = counts["right"] + counts["wrong"]
    precision = counts["right"] / decided if decided else 0.0
    return (f"{counts['right']:4d}/{total} right ({counts['right'] / total:6.1%}), {counts['wrong']:3d} wrong, "
            f"{counts['undecided']:3d} undecided; right when decided {precision:6.1%}")


def cpu_ms(func, repeats: int) -> float:
    """Median CPU milliseconds of func() over `repeats` runs."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        func()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


def bench_pages(repeats: int) -> None:
    reference = json.loads((HERE / "benchmark_languages.json").read_text())["languages"]
    truth = json.loads((PAGES / "ground-truth.json").read_text())
    found, metadata, sources, misses = [], [], Counter(), []
    detect_ms = extract_ms = 0.0
    for page_id, expected in reference.items():
        html = gzip.decompress((PAGES / "html" / f"{page_id}.html.gz").read_bytes())
        url = truth[page_id]["url"]
        article = extract_article(html, url)
        found.append((article.language, expected))
        sources[article.language_source] += 1
        tree = load_html(decode_html(html, None))
        metadata.append((page_language(tree, None) if tree is not None else None, expected))
        if article.language != expected:
            misses.append(f"{page_id[:8]} {expected} -> {article.language} ({article.language_source})")
        text = detection_text(article.title, article.text)
        detect_ms += cpu_ms(lambda: decide_language(text, metadata[-1][0]), repeats)
        extract_ms += cpu_ms(lambda: extract_article(html, url), 1)
    pages = len(reference)
    print(f"benchmark pages ({pages}; reference: {dict(Counter(reference.values()).most_common())})")
    print(f"  stored language (text decides, metadata hints): {describe(tally(found))}")
    print(f"  page metadata alone (before):                   {describe(tally(metadata))}")
    print(f"  decided by: {dict(sources.most_common())}")
    for miss in misses:
        print(f"    miss: {miss}")
    print(f"  cost per page: {detect_ms / pages:.2f} ms CPU for the language "
          f"({detect_ms / extract_ms:.1%} of extract_article's {extract_ms / pages:.1f} ms, which includes it)")


def bench_short_texts(repeats: int) -> None:
    data = {k: v for k, v in json.loads((HERE / "short_news.json").read_text()).items() if not k.startswith("_")}
    pairs, per_language, spent = [], defaultdict(Counter), 0.0
    for expected, texts in data.items():
        for text in texts:
            language = decide_language(text).language
            pairs.append((language, expected))
            per_language[expected] += tally([(language, expected)])
            spent += cpu_ms(lambda: decide_language(text), repeats)
    print(f"short news texts ({len(pairs)} in {len(data)} languages, no metadata)")
    print(f"  {describe(tally(pairs))}; {spent / len(pairs):.2f} ms CPU per text")
    print("  per language: " + ", ".join(f"{code} {c['right']}/{sum(c.values())}" for code, c in per_language.items()))


def bench_feed_entries() -> None:
    titles, full = [], []
    for name, expected in FEED_LANGUAGES.items():
        for entry in parse_feed((FEEDS / name).read_bytes()).entries:
            titles.append((decide_language(entry.title).language, expected))
            full.append((decide_language(detection_text(entry.title, entry.summary)).language, expected))
    print(f"real feed entries ({len(titles)} from {len(FEED_LANGUAGES)} feeds, languages "
          f"{', '.join(sorted(set(FEED_LANGUAGES.values())))}; no metadata)")
    print(f"  title alone:     {describe(tally(titles))}")
    print(f"  title + summary: {describe(tally(full))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timing runs per text (median)")
    args = parser.parse_args()
    if not PAGES.is_dir():
        print(f"skipped: {PAGES} not found (../shared/data beside the repository)")
        return 0
    rss_before, start = resident_mb(), time.perf_counter()
    load_identifier()
    print(f"model load: {time.perf_counter() - start:.2f} s wall, +{resident_mb() - rss_before:.0f} MB resident, "
          "once per process (the pass process; the extraction workers never load it)\n")
    bench_pages(args.repeats)
    print()
    bench_short_texts(args.repeats)
    print()
    bench_feed_entries()
    return 0


if __name__ == "__main__":
    sys.exit(main())
