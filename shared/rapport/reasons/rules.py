"""Loading and compiling the reason rules: a TOML file a person can read and extend.

The file format is documented at the top of ``rules.toml`` and in ``docs/classification.md``.
Compilation happens once per process (:func:`default_rules` is cached): every code's rules become a
single alternation regex, strongest rule first, so classifying a note costs one scan per code.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from rapport.codes import Outcome, ReasonCode
from rapport.reasons.text import Lexicon

_MACRO = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_MAX_MACRO_DEPTH = 5
#: Codes the request facts decide; rules may still match when a recipient states them in words.
DERIVED_CODES = (ReasonCode.NO_COMMON_GROUND, ReasonCode.NO_NOTE)


class RulesError(ValueError):
    """The rules file is malformed; the message names the offending entry."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern that supports one reason code with a weight in (0, 1]."""

    code: ReasonCode
    weight: float
    regex: str
    negatable: bool
    examples: tuple[str, ...]
    name: str


@dataclass(frozen=True, slots=True)
class CodeMatcher:
    """All rules of one code compiled into one regex; ``rules`` is keyed by group name."""

    code: ReasonCode
    pattern: re.Pattern[str]
    rules: Mapping[str, Rule]


@dataclass(frozen=True, slots=True)
class Settings:
    negation_window: int
    concession_factor: float
    secondary_factor: float
    competition_penalty: float
    max_confidence: float
    min_english_share: float
    language_check_min_words: int
    max_evidence_chars: int


@dataclass(frozen=True, slots=True)
class Fallback:
    """Confidences used when the note gives no reason (see the ``[fallback]`` table)."""

    derived: Mapping[ReasonCode, float]
    no_decision: float
    unknown: float
    unreadable: float


@dataclass(frozen=True, slots=True)
class RuleSet:
    lexicon: Lexicon
    settings: Settings
    fallback: Fallback
    matchers: tuple[CodeMatcher, ...]
    negators: frozenset[str]
    contrast_before: frozenset[str]
    concessive_openers: frozenset[str]
    english_words: frozenset[str]
    disclaimers: re.Pattern[str] | None
    affirmations: re.Pattern[str] | None
    allowed_outcomes: Mapping[ReasonCode, frozenset[Outcome]]

    def rules(self) -> list[Rule]:
        """Every rule, in file order within each code."""
        return [rule for matcher in self.matchers for rule in matcher.rules.values()]


def _table(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, Mapping):
        raise RulesError(f"[{key}] must be a table")
    return value


def _expand_macros(pattern: str, macros: Mapping[str, str], where: str) -> str:
    for _ in range(_MAX_MACRO_DEPTH):
        if not _MACRO.search(pattern):
            return pattern

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in macros:
                raise RulesError(f"{where}: unknown macro {{{name}}}")
            return f"(?:{macros[name]})"

        pattern = _MACRO.sub(substitute, pattern)
    raise RulesError(f"{where}: macros nested deeper than {_MAX_MACRO_DEPTH} levels")


def _bounded(regex: str) -> str:
    """Match whole canonical words only."""
    return rf"(?<![\w'])(?:{regex})(?![\w'])"


def _compile(regex: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as exc:
        raise RulesError(f"{where}: invalid pattern: {exc}") from exc


def _phrase_regex(phrases: Sequence[str], lexicon: Lexicon) -> str:
    canonical = sorted(
        {lexicon.canonical_text(phrase) for phrase in phrases}, key=len, reverse=True
    )
    return "|".join(re.escape(phrase) for phrase in canonical if phrase)


def _rule_regex(
    entry: Mapping[str, Any], macros: Mapping[str, str], lexicon: Lexicon, where: str
) -> str:
    has_pattern, has_phrases = "pattern" in entry, "phrases" in entry
    if has_pattern == has_phrases:
        raise RulesError(f"{where}: give exactly one of 'pattern' or 'phrases'")
    if has_phrases:
        phrases = entry["phrases"]
        if (
            not isinstance(phrases, list)
            or not phrases
            or not all(isinstance(phrase, str) for phrase in phrases)
        ):
            raise RulesError(f"{where}: 'phrases' must be a non-empty list of strings")
        return _phrase_regex(phrases, lexicon)
    pattern = entry["pattern"]
    if not isinstance(pattern, str) or not pattern.strip():
        raise RulesError(f"{where}: 'pattern' must be a non-empty string")
    if "(?P<" in pattern:
        raise RulesError(f"{where}: named groups are reserved; use (?:...)")
    regex = _expand_macros(pattern.strip(), macros, where)
    _compile(regex, where)
    return regex


def _parse_rule(index: int, entry: Any, macros: Mapping[str, str], lexicon: Lexicon) -> Rule:
    where = f"rule #{index + 1}"
    if not isinstance(entry, Mapping):
        raise RulesError(f"{where}: must be a table")
    try:
        code = ReasonCode(entry.get("code"))
    except ValueError as exc:
        raise RulesError(f"{where}: unknown reason code {entry.get('code')!r}") from exc
    where = f"rule #{index + 1} ({code})"
    weight = entry.get("weight")
    if not isinstance(weight, int | float) or not 0 < weight <= 1:
        raise RulesError(f"{where}: 'weight' must be a number in (0, 1]")
    negatable = entry.get("negatable", True)
    examples = entry.get("examples", [])
    if not isinstance(negatable, bool):
        raise RulesError(f"{where}: 'negatable' must be true or false")
    if not isinstance(examples, list) or not all(isinstance(item, str) for item in examples):
        raise RulesError(f"{where}: 'examples' must be a list of strings")
    return Rule(
        code=code,
        weight=float(weight),
        regex=_rule_regex(entry, macros, lexicon, where),
        negatable=negatable,
        examples=tuple(examples),
        name=f"r{index}",
    )


def _matchers(rules: Sequence[Rule]) -> tuple[CodeMatcher, ...]:
    matchers = []
    for code in ReasonCode:
        own = [rule for rule in rules if rule.code == code]
        if not own:
            continue
        strongest_first = sorted(own, key=lambda rule: -rule.weight)
        alternation = "|".join(f"(?P<{rule.name}>{rule.regex})" for rule in strongest_first)
        matchers.append(
            CodeMatcher(
                code=code,
                pattern=_compile(_bounded(alternation), f"rules of {code}"),
                rules={rule.name: rule for rule in own},
            )
        )
    return tuple(matchers)


def _cue_pattern(cues: Mapping[str, Any], key: str, lexicon: Lexicon) -> re.Pattern[str] | None:
    phrases = cues.get(key, [])
    if not isinstance(phrases, list) or not all(isinstance(item, str) for item in phrases):
        raise RulesError(f"[cues] {key} must be a list of phrases")
    if not phrases:
        return None
    return _compile(_bounded(_phrase_regex(phrases, lexicon)), f"[cues] {key}")


def _words(table: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RulesError(f"{where} {key} must be a list of words")
    return frozenset(word.casefold() for word in value)


def _settings(table: Mapping[str, Any]) -> Settings:
    try:
        return Settings(
            negation_window=int(table["negation_window"]),
            concession_factor=float(table["concession_factor"]),
            secondary_factor=float(table["secondary_factor"]),
            competition_penalty=float(table["competition_penalty"]),
            max_confidence=float(table["max_confidence"]),
            min_english_share=float(table["min_english_share"]),
            language_check_min_words=int(table["language_check_min_words"]),
            max_evidence_chars=int(table["max_evidence_chars"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesError(f"[settings] is missing or has a bad value: {exc}") from exc


def _fallback(table: Mapping[str, Any]) -> Fallback:
    try:
        derived = {code: float(table[str(code)]) for code in DERIVED_CODES}
        return Fallback(
            derived=derived,
            no_decision=float(table["no_decision"]),
            unknown=float(table["unknown"]),
            unreadable=float(table["unreadable"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesError(f"[fallback] is missing or has a bad value: {exc}") from exc


def _allowed_outcomes(table: Mapping[str, Any]) -> dict[ReasonCode, frozenset[Outcome]]:
    allowed = {}
    for key, outcomes in table.items():
        try:
            allowed[ReasonCode(key)] = frozenset(Outcome(item) for item in outcomes)
        except (ValueError, TypeError) as exc:
            raise RulesError(f"[outcomes] {key}: {exc}") from exc
    return allowed


def compile_rules(document: Mapping[str, Any]) -> RuleSet:
    """Validate a parsed rules document and compile it; raises :class:`RulesError`."""
    replacements = {
        str(word).casefold(): tuple(str(value).split())
        for word, value in _table(document, "replacements").items()
    }
    lexicon = Lexicon(replacements=replacements)
    macros = {str(name): str(value) for name, value in _table(document, "macros").items()}
    entries = document.get("rule", [])
    if not isinstance(entries, list) or not entries:
        raise RulesError("the file must define at least one [[rule]]")
    rules = [_parse_rule(index, entry, macros, lexicon) for index, entry in enumerate(entries)]
    cues = _table(document, "cues")
    return RuleSet(
        lexicon=lexicon,
        settings=_settings(_table(document, "settings")),
        fallback=_fallback(_table(document, "fallback")),
        matchers=_matchers(rules),
        negators=_words(cues, "negators", "[cues]"),
        contrast_before=_words(cues, "contrast_before", "[cues]"),
        concessive_openers=_words(cues, "concessive_openers", "[cues]"),
        english_words=frozenset(
            word
            for item in _words(_table(document, "language"), "english_words", "[language]")
            for word in lexicon.canonical_words(item)
        ),
        disclaimers=_cue_pattern(cues, "disclaimers", lexicon),
        affirmations=_cue_pattern(cues, "affirmations", lexicon),
        allowed_outcomes=_allowed_outcomes(_table(document, "outcomes")),
    )


def parse_rules(text: str) -> RuleSet:
    """Compile rules from TOML text."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"not valid TOML: {exc}") from exc
    return compile_rules(document)


@cache
def default_rules() -> RuleSet:
    """The packaged ``rules.toml``, compiled once per process."""
    text = resources.files("rapport.reasons").joinpath("rules.toml").read_text(encoding="utf-8")
    return parse_rules(text)
