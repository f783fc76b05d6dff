"""Article extraction on saved pages: each `tests/golden/<name>.html` extracts to exactly the
text in `<name>.txt`, the article and nothing of the page's chrome (menus, cookie banners,
bylines, related headlines, footers), in the page's declared charset.

The pairs are small and hand-checked (see tests/golden/README.md), so the basic behaviour is
tested without the corpora in ../shared; the suites that measure extraction on the real
corpus stay where they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.articles import extract_article

GOLDEN = Path(__file__).resolve().parent / "golden"
# pages the repository already ships elsewhere are read where they are, not copied here
SHIPPED = {"seed_portal": Path(__file__).resolve().parents[1] / "newswatch" / "demo" / "pages" / "seed_article.html"}


def golden_name(page: Path) -> str:
    return next((name for name, path in SHIPPED.items() if path == page), page.stem)


PAGES = sorted([*GOLDEN.glob("*.html"), *SHIPPED.values()], key=golden_name)


def expected_text(page: Path) -> str:
    return (GOLDEN / f"{golden_name(page)}.txt").read_text(encoding="utf-8").rstrip("\n")


def test_every_golden_page_has_its_expected_text():
    assert len(PAGES) >= 5
    for page in PAGES:
        assert (GOLDEN / f"{golden_name(page)}.txt").is_file(), f"{page.name} has no {golden_name(page)}.txt"


@pytest.mark.parametrize("page", PAGES, ids=golden_name)
def test_golden_page_extracts_to_its_expected_text(page):
    article = extract_article(page.read_bytes(), f"https://example.org/news/{golden_name(page)}")
    assert article.flagged is None
    assert article.text.splitlines() == expected_text(page).splitlines()


@pytest.mark.parametrize(("stem", "title", "language"), [
    ("wire_story_chrome", "Harbour cranes idle as dock strike enters third day", "en"),
    ("cp1252_french", "La fête du village attire des milliers de visiteurs", "fr"),
    ("euckr_korean", "시립도서관, 야간 개관 시간 연장", "ko"),
])
def test_golden_page_title_and_language(stem, title, language):
    article = extract_article((GOLDEN / f"{stem}.html").read_bytes(), f"https://example.org/news/{stem}")
    assert article.title == title
    assert article.language == language


def test_the_seed_golden_text_is_the_body_of_the_shared_seed():
    """`seed_portal.txt` is the article body of ../shared/seed's page (its paragraphs between
    the portal's summary widgets and the byline), so the copy here cannot drift from it."""
    from tests.conftest import shared_path

    seed = shared_path("seed", "000_e334cefbcedd34fa.txt")
    lines = [line.strip() for line in seed.read_text(encoding="utf-8").splitlines() if line.strip()]
    byline = next(i for i, line in enumerate(lines) if line.startswith("BY "))
    assert expected_text(SHIPPED["seed_portal"]).splitlines() == lines[6:byline]
