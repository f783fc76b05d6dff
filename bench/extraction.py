"""Article-body extraction quality: plain trafilatura vs newswatch's extract_article.

Run: python bench/extraction.py [--limit N] [--ablation]
Data: ../shared/data/article-extraction-benchmark/ (html/<id>.html.gz, ground-truth.json),
the scrapinghub/article-extraction-benchmark pages.

Two metrics are printed for each extractor, both averaged over pages:
  * "shingles": the upstream evaluate.py metric: 4-gram shingles of \\w+ tokens,
    bag overlap, per-page tp/fp/fn normalised, precision and recall averaged,
    F1 from the averages;
  * "tokens": the same with single whitespace-separated tokens (bag-of-tokens).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

import extractors.articles as articles_module  # noqa: E402
from extractors.articles import extract_article  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "article-extraction-benchmark"
WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, n: int = 4) -> Counter:
    tokens = WORD.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def whitespace_tokens(text: str) -> Counter:
    return Counter((text or "").split())


def tp_fp_fn(true: Counter, pred: Counter) -> tuple[float, float, float]:
    tp = sum((true & pred).values())
    fp = sum((pred - true).values())
    fn = sum((true - pred).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fp == 0 else tp / (tp + fp)


def recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return 0.0 if tp == fn == 0 else tp / (tp + fn)


def score(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    p = statistics.mean(precision(*r) for r in rows if r[0] + r[1] > 0)
    r = statistics.mean(recall(*r) for r in rows if r[0] + r[2] > 0)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r)}


def extract_default(html: bytes, url: str) -> str:
    return trafilatura.extract(html.decode("utf-8", "replace")) or ""


def extract_ours(html: bytes, url: str) -> str:
    return extract_article(html, url).text


def load_pages(limit: int | None) -> list[tuple[str, bytes, str, str]]:
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        html = gzip.decompress((DATA / "html" / f"{key}.html.gz").read_bytes())
        pages.append((key, html, truth[key].get("url", ""), truth[key].get("articleBody", "")))
    return pages


def evaluate(name: str, extract, pages) -> dict[str, dict[str, float]]:
    started = time.perf_counter()
    shingle_rows, token_rows = [], []
    for _key, html, url, truth in pages:
        text = extract(html, url)
        shingle_rows.append(tp_fp_fn(shingles(truth), shingles(text)))
        token_rows.append(tp_fp_fn(whitespace_tokens(truth), whitespace_tokens(text)))
    result = {"shingles": score(shingle_rows), "tokens": score(token_rows)}
    result["seconds"] = {"total": time.perf_counter() - started}
    return result


def print_row(name: str, result: dict) -> None:
    for metric in ("shingles", "tokens"):
        m = result[metric]
        print(f"{name:<28} {metric:<9} P={m['precision']:.4f}  R={m['recall']:.4f}  F1={m['f1']:.4f}")


def run_ablation(pages) -> None:
    """F1 of extract_article with the HTML pre-clean and/or the text post-clean switched off."""
    prepare, clean = articles_module.prepare_tree, articles_module.clean_article_text
    variants = {
        "bare_extraction only": (lambda tree: None, lambda text: text),
        "+ HTML pre-clean": (prepare, lambda text: text),
        "+ text post-clean": (lambda tree: None, clean),
        "+ both (shipped)": (prepare, clean),
    }
    try:
        for name, (prep, post) in variants.items():
            articles_module.prepare_tree, articles_module.clean_article_text = prep, post
            m = evaluate(name, extract_ours, pages)["shingles"]
            print(f"  ablation {name:<22} P={m['precision']:.4f}  R={m['recall']:.4f}  F1={m['f1']:.4f}")
    finally:
        articles_module.prepare_tree, articles_module.clean_article_text = prepare, clean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--ablation", action="store_true", help="also score each cleaning step alone")
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"benchmark data not found: {DATA} (expected ../shared/data beside the repo)")
        return 2
    pages = load_pages(args.limit)
    default = evaluate("trafilatura.extract default", extract_default, pages)
    ours = evaluate("newswatch extract_article", extract_ours, pages)
    print(f"{len(pages)} pages from {DATA}")
    print_row("trafilatura.extract default", default)
    print_row("newswatch extract_article", ours)
    for metric in ("shingles", "tokens"):
        diff = ours[metric]["f1"] - default[metric]["f1"]
        print(f"F1 difference ({metric}): {diff:+.4f} (ours minus default)")
    print(f"time: default {default['seconds']['total']:.1f} s, ours {ours['seconds']['total']:.1f} s")
    if args.ablation:
        run_ablation(pages)
    return 0


if __name__ == "__main__":
    sys.exit(main())
