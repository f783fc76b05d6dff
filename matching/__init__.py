"""The watch-rule query language: parse, compile, match, explain.

    ruleset = compile_rules(rules, aliases)      # raises QueryError / QueryErrors
    problems = check_rules(rules, aliases)       # every QueryError, nothing raised
    hits = ruleset.match(MatchInput(title, body, language, feed_tags))

The only place that decides "is this a hit?". Imports only the stdlib, pyahocorasick,
`config.models` and `extractors.models`. `@country:KP` expands to a built-in name pack
(`namepacks.py`, data generated into `packs/` at release, read on first use).
"""

from matching.compiler import MAX_EXPANDED_TERMS, check_rules, compile_rules
from matching.errors import QueryError, QueryErrors
from matching.models import MatchInput, RuleMatch
from matching.namepacks import release_name_packs
from matching.parser import MAX_QUERY_CHARS
from matching.ruleset import CompiledRule, RuleSet

__all__ = [
    "MAX_EXPANDED_TERMS",
    "MAX_QUERY_CHARS",
    "CompiledRule",
    "MatchInput",
    "QueryError",
    "QueryErrors",
    "RuleMatch",
    "RuleSet",
    "check_rules",
    "compile_rules",
    "release_name_packs",
]
