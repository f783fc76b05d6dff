"""Strip page chrome from the HTML tree before trafilatura sees it.

Contract: `prepare_tree(tree)` removes, in place, blocks that are lists of links
(related headlines, menus, tag clouds) even when they are plain <div>s: an element
whose visible text is mostly link text, spread over several short links. Elements
holding a long run of non-link text (the article) are never removed.
"""

from __future__ import annotations

BLOCK_TAGS = ("div", "ul", "ol", "section", "table", "dl", "nav", "aside", "footer", "header")
MIN_LINKS = 3
MIN_LINK_SHARE = 0.75
MAX_MEAN_LINK_TEXT = 120


def prepare_tree(tree) -> None:
    link_texts: dict = {}  # <a> -> its text, whitespace-collapsed: nested blocks share their links
    for element in list(tree.iter(*BLOCK_TAGS)):
        if element.getparent() is not None and is_link_list(element, link_texts):
            element.getparent().remove(element)


def is_link_list(element, link_texts: dict | None = None) -> bool:
    cache = {} if link_texts is None else link_texts
    links = [text for text in (_link_text(a, cache) for a in element.iter("a")) if text]
    if len(links) < MIN_LINKS:
        return False
    link_chars = sum(len(text) for text in links)
    if link_chars / len(links) > MAX_MEAN_LINK_TEXT:
        return False
    total = len(" ".join(element.text_content().split()))
    return total > 0 and link_chars / total >= MIN_LINK_SHARE


def _link_text(anchor, cache: dict) -> str:
    text = cache.get(anchor)
    if text is None:
        text = cache[anchor] = " ".join(anchor.text_content().split())
    return text
