"""Everything `newswatch check` verifies, as a list of `file:line: field: problem` lines.

The YAML files (config), the rule queries (matching, with a caret under the column),
and each rule's examples: a `match` example that no longer matches, or a `no_match`
one that does, is a problem named by rule and example.
"""

from __future__ import annotations

from pathlib import Path

from config import Config, ConfigError, Problem, RuleConfig, load_config
from matching import RuleSet, check_rules, compile_rules
from matching.models import MatchInput
from newswatch.inputs import HTML_SUFFIXES, InputError, read_article


def load_valid_config(config_dir: Path) -> tuple[Config | None, list[str]]:
    """The config and its compiled rules' problems; (None, problems) when unusable."""
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        return None, [str(problem) for problem in exc.problems]
    return config, [format_query_error(config, error) for error in check_rules(config.rules, config.aliases)]


def format_query_error(config: Config, error) -> str:
    index = next((i for i, rule in enumerate(config.rules) if rule.name == error.rule), 0)
    source = error.source or config.rules[index].query_source
    head = f"{source.file}:{source.line}: rules[{index}].query: rule {error.rule!r}: {error.message}"
    caret = "\n".join("    " + line for line in error.caret_line().splitlines())
    return f"{head}\n{caret}"


def check_examples(config: Config, ruleset: RuleSet | None = None) -> list[str]:
    """Run every rule's examples; return one line per example that disagrees."""
    ruleset = ruleset or compile_rules(config.rules, config.aliases)
    problems = []
    for index, rule in enumerate(config.rules):
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
    field = f"rules[{index}].examples.{kind}"
    try:
        doc = _example_document(config, rule, example)
    except InputError as exc:
        return Problem(rule.source.file, line, field, f"rule {rule.name!r}: {exc}")
    hit = any(match.rule == rule.name for match in ruleset.match(doc))
    if hit == expected:
        return None
    verb = "does not match" if expected else "matches"
    shown = example if len(example) <= 120 else example[:117] + "..."
    return Problem(rule.source.file, line, field, f"rule {rule.name!r} {verb} its {kind} example: {shown!r}")


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
