"""The analyst's labels: relevant or irrelevant, per (rule, article).

`find_targets` turns what the analyst typed (a stored article's URL or a hit id) into
article ids and names what it could not find; `save_labels` writes or changes the
labels in one transaction (all or nothing) and says which ones changed; `rule_labels`
reads a rule's labels back with the labelled articles' text, for stats and learning.
Labels keep the content hash of the rule version they were given under.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session

from store.stories import in_chunks
from store.tables import Article, Feed, Hit, Label, as_utc, utcnow


@dataclass(frozen=True)
class LabelledArticle:
    """A label with what it judged: the article as stored."""

    article_id: int
    relevant: bool
    rule_hash: str
    labelled_at: datetime
    url: str
    title: str
    text: str
    language: str | None
    feed_url: str


@dataclass(frozen=True)
class SavedLabels:
    added: int
    changed: int  # relevant <-> irrelevant
    unchanged: int


def find_targets(engine: Engine, targets: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """target -> article id (a hit id, or a stored article's URL), and the targets not found."""
    found, unknown = {}, []
    with Session(engine) as session:
        for target in targets:
            article_id = find_target(session, target.strip())
            if article_id is None:
                unknown.append(target)
            else:
                found[target] = article_id
    return found, unknown


def hits_of_other_rules(engine: Engine, targets: Sequence[str], rule: str) -> dict[str, str]:
    """target -> its hit's rule, for the targets that are hit ids of a rule other than `rule`."""
    ids = [int(target.strip()) for target in targets if target.strip().isdigit()]
    if not ids:
        return {}
    with Session(engine) as session:
        rows = session.execute(select(Hit.id, Hit.rule).where(Hit.id.in_(ids), Hit.rule != rule)).all()
    return {str(hit_id): hit_rule for hit_id, hit_rule in rows}


def find_target(session: Session, target: str) -> int | None:
    if target.isdigit():
        article_id = session.execute(select(Hit.article_id).where(Hit.id == int(target))).scalar()
        if article_id is not None:
            return article_id
    return session.execute(select(Article.id).where(Article.url == target).order_by(Article.id).limit(1)).scalar()


def save_labels(engine: Engine, rule: str, rule_hash: str, article_ids: Iterable[int], relevant: bool) -> SavedLabels:
    """Label the articles for the rule; a label given again with the other answer is changed."""
    added = changed = unchanged = 0
    with Session(engine) as session:
        for article_id in dict.fromkeys(article_ids):
            label = session.execute(select(Label).where(Label.rule == rule, Label.article_id == article_id)).scalar()
            if label is None:
                session.add(Label(rule=rule, article_id=article_id, relevant=relevant, rule_hash=rule_hash))
                added += 1
            elif label.relevant != relevant:
                label.relevant, label.rule_hash, label.labelled_at = relevant, rule_hash, utcnow()
                session.add(label)
                changed += 1
            else:
                unchanged += 1
        session.commit()
    return SavedLabels(added, changed, unchanged)


def rule_labels(engine: Engine, rule: str) -> list[LabelledArticle]:
    """The rule's labels with the labelled articles, oldest label first."""
    query = (select(Label.article_id, Label.relevant, Label.rule_hash, Label.labelled_at, Article.url,
                    Article.title, Article.text, Article.language, Feed.url)
             .join(Article, Article.id == Label.article_id).join(Feed, Feed.id == Article.feed_id)
             .where(Label.rule == rule).order_by(Label.id))
    with Session(engine) as session:
        return [LabelledArticle(*row[:3], as_utc(row[3]), *row[4:]) for row in session.execute(query)]


def labels_of(session: Session, pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], bool]:
    """(rule, article id) -> relevant, for the pairs that have a label."""
    wanted = set(pairs)
    found: dict[tuple[str, int], bool] = {}
    for chunk in in_chunks(sorted({article_id for _, article_id in wanted})):
        rows = session.execute(select(Label.rule, Label.article_id, Label.relevant).where(Label.article_id.in_(chunk)))
        found.update({(rule, a): relevant for rule, a, relevant in rows if (rule, a) in wanted})
    return found
