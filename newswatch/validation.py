"""Everything `newswatch check` verifies, as a list of `file:line: field: problem` lines.

The YAML files (config), the rule queries (matching, with a caret under the column),
and each rule's examples: a `match` example that no longer matches, or a `no_match`
one that does, is a problem named by rule and example.

All of them in one go, most important first (`config.errors.RANKS`): a file with problems
does not hide the others' (each is checked as far as the valid files allow), so fixing a
config takes one `check`, not one per typo.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from config import Config, Problem, RuleConfig
from config.errors import RANKS
from config.loader import inspect_config
from extractors.netguard import AddressPolicy, refusal_without_dns
from matching import RuleSet, check_rules, compile_rules
from matching.cache import rules_cache_dir
from matching.models import MatchInput
from newswatch.inputs import HTML_SUFFIXES, InputError, read_article


def load_valid_config(config_dir: Path) -> tuple[Config | None, list[str]]:
    """The config when it has no problem (examples aside); else (None, every problem)."""
    config, problems = find_config_problems(config_dir)
    return (None, problems) if problems else (config, [])


def find_config_problems(config_dir: Path) -> tuple[Config | None, list[str]]:
    """Every problem of the files and the rule queries, most important first, and the
    config as far as it could be read (for reporting only when there are problems)."""
    config, problems = inspect_config(config_dir)
    if config is None:
        return None, [str(problem) for problem in problems]
    query_errors = [error for error in check_rules(config.rules, config.aliases, rules_cache(config))
                    if not error.message.startswith("another rule is already named")]  # the loader said it
    return config, [str(problem) for problem in problems] + [format_query_error(config, e) for e in query_errors]


def check_everything(config_dir: Path) -> tuple[Config | None, list[str]]:
    """`newswatch check`: every problem of the config, then of the examples of the rules
    that compile (an example is only as good as its rule's query)."""
    config, problems = find_config_problems(config_dir)
    if config is None:
        return None, problems
    broken = {error.rule for error in check_rules(config.rules, config.aliases)}
    testable = [rule for rule in config.rules if rule.name not in broken] if broken else config.rules
    return config, problems + check_feed_addresses(config) + check_examples(config, only=testable)


def rules_cache(config: Config) -> Path:
    """Where compiled rule sets are kept between commands (`matching.cache`): the data directory."""
    return Path(rules_cache_dir(config.settings.data_dir))


def check_feed_addresses(config: Config) -> list[str]:
    """Each feed whose address the fetch settings refuse, by the guard's own decision (a literal
    IP or localhost that fetch.allowed_networks does not cover; host names are not resolved)."""
    fetch = config.settings.fetch
    policy = AddressPolicy(fetch.allow_private_networks, fetch.allowed_networks)
    problems = []
    for index, feed in enumerate(config.feeds):
        refusal = refusal_without_dns(urlsplit(feed.url).hostname or "", policy)
        if refusal:
            field = f"feeds[{config.position('feeds', index)}].url"
            problems.append(str(Problem(feed.source.file, feed.source.line, field,
                                        f"every fetch of this feed would be refused: {refusal}",
                                        rank=RANKS["reference"])))
    return problems


def format_query_error(config: Config, error) -> str:
    index = next((i for i, rule in enumerate(config.rules) if rule.name == error.rule), 0)
    source = error.source or config.rules[index].query_source
    head = (f"{source.file}:{source.line}: rules[{config.position('rules', index)}].query: "
            f"rule {error.rule!r}: {error.message}")
    caret = "\n".join("    " + line for line in error.caret_line().splitlines())
    return f"{head}\n{caret}"


def check_examples(config: Config, ruleset: RuleSet | None = None,
                   only: list[RuleConfig] | None = None) -> list[str]:
    """Run every rule's examples (or only those of the rules `only`, which must compile);
    return one line per example that disagrees."""
    rules = config.rules if only is None else tuple(only)
    ruleset = ruleset or compile_rules(rules, config.aliases)
    selected = {id(rule) for rule in rules}
    problems = []
    for index, rule in enumerate(config.rules):
        if id(rule) not in selected or not (rule.examples.match or rule.examples.no_match):
            continue
        cases = ((True, rule.examples.match, rule.examples.match_lines),
                 (False, rule.examples.no_match, rule.examples.no_match_lines))
        for expected, examples, lines in cases:
            for position, example in enumerate(examples):
                line = lines[position] if position < len(lines) else rule.source.line
                problem = _check_example(config, ruleset, index, example, expected, line)
                if problem:
                    problems.append(str(problem))
    return problems


def _check_example(
    config: Config, ruleset: RuleSet, index: int, example: str, expected: bool, line: int
) -> Problem | None:
    rule = config.rules[index]
    kind = "match" if expected else "no_match"
    field = f"rules[{config.position('rules', index)}].examples.{kind}"
    try:
        doc = _example_document(config, rule, example)
    except InputError as exc:
        return Problem(rule.source.file, line, field, f"rule {rule.name!r}: {exc}", rank=RANKS["example"])
    hit = any(match.rule == rule.name for match in ruleset.match(doc))
    if hit == expected:
        return None
    verb = "does not match" if expected else "matches"
    shown = example if len(example) <= 120 else example[:117] + "..."
    return Problem(rule.source.file, line, field, f"rule {rule.name!r} {verb} its {kind} example: {shown!r}",
                   rank=RANKS["example"])


def _example_document(config: Config, rule: RuleConfig, example: str) -> MatchInput:
    """Short texts are the example itself; a path (relative to the config dir) is an article file.

    The example is presented as if it came from a feed and in a language the rule watches,
    so an example tests the query, not the routing.
    """
    title, body, language = "", example, None
    if example.lower().endswith(HTML_SUFFIXES + (".txt",)) and "\n" not in example:
        article = read_article(str(Path(config.directory) / example), config.settings.fetch)
        title, body, language = article.title, article.text, article.language
    if rule.languages:
        language = rule.languages[0]
    return MatchInput(title=title, body=body, language=language, feed_tags=rule.tags)


def example_inputs(config: Config, rule: RuleConfig) -> list[tuple[MatchInput, bool]]:
    """The rule's examples as documents with the answer each expects (unreadable files left out:
    `newswatch check` reports them)."""
    cases = [(example, True) for example in rule.examples.match] + [(e, False) for e in rule.examples.no_match]
    documents = []
    for example, expected in cases:
        try:
            documents.append((_example_document(config, rule, example), expected))
        except InputError:
            continue
    return documents
