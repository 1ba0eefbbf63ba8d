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
from rapport.reasons.firstwords import Words, leading_words, required_text
from rapport.reasons.text import CLAUSE_BREAK, SENTENCE_END, Lexicon

_MACRO = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_MAX_MACRO_DEPTH = 5
_VOCABULARY = re.compile(r"[a-z]{2,}")
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
    #: Position in the rules file, which identifies the rule.
    index: int
    #: The word sequences a match can start with, or None when it must be searched everywhere.
    leading_words: frozenset[Words] | None


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


@dataclass(frozen=True, slots=True)
class AnchoredMatcher:
    """The rules of one code that can start with a given word, as one alternation, strongest first.

    ``pattern.match(text, position)`` at a word start finds the strongest of them that matches
    there; ``rules`` maps the alternation's group names back to rules.
    """

    code: ReasonCode
    pattern: re.Pattern[str]
    rules: Mapping[str, Rule]


@dataclass(frozen=True, slots=True)
class FloatingRule:
    """A rule whose leading words are unknown, searched over the whole note.

    ``required`` (when known) holds strings every match contains one of: a note holding none of
    them is not searched, which spares most notes the slowest regex search.
    """

    rule: Rule
    pattern: re.Pattern[str]
    required: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class CuePatterns:
    """Cue phrases (disclaimers, affirmations) indexed by leading words like the rules."""

    by_leading_words: Mapping[Words, re.Pattern[str]]
    floating: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """Everything that can start with one leading-word key: rule matchers and cue patterns."""

    matchers: tuple[AnchoredMatcher, ...]
    disclaimer: re.Pattern[str] | None
    affirmation: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class WordStart:
    """The index entries for one first word: keyed by that word alone, and by it with the next.

    Nested by first word so that the scan looks up each word of a note once and builds no key
    tuples; most words start nothing.
    """

    alone: IndexEntry | None
    followed_by: Mapping[str, IndexEntry]


@dataclass(frozen=True, slots=True)
class RuleSet:
    lexicon: Lexicon
    settings: Settings
    fallback: Fallback
    rules: tuple[Rule, ...]
    #: First canonical word -> the rules and cues whose match starts with it (and the next word).
    index: Mapping[str, WordStart]
    #: Rules whose first word is not known; searched over the whole note.
    floating: tuple[FloatingRule, ...]
    negators: frozenset[str]
    negation_scope_breaks: frozenset[str]
    contrast_before: frozenset[str]
    concessive_openers: frozenset[str]
    #: Words that end or open a clause: the clause marks, contrast words and concessive openers.
    clause_words: frozenset[str]
    english_words: frozenset[str]
    floating_disclaimers: re.Pattern[str] | None
    floating_affirmations: re.Pattern[str] | None
    allowed_outcomes: Mapping[ReasonCode, frozenset[Outcome]]


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
        code = ReasonCode(str(entry.get("code")))
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
    regex = _rule_regex(entry, macros, lexicon, where)
    return Rule(
        code=code,
        weight=float(weight),
        regex=regex,
        negatable=negatable,
        examples=tuple(examples),
        index=index,
        leading_words=leading_words(regex),
    )


def _rule_index(rules: Sequence[Rule]) -> dict[Words, tuple[AnchoredMatcher, ...]]:
    """Leading words -> one matcher per code whose rules can start with them."""
    starting: dict[Words, dict[ReasonCode, list[Rule]]] = {}
    for rule in sorted(rules, key=lambda rule: (-rule.weight, rule.index)):
        for words in rule.leading_words or ():
            starting.setdefault(words, {}).setdefault(rule.code, []).append(rule)
    compiled: dict[tuple[int, ...], AnchoredMatcher] = {}
    index: dict[Words, tuple[AnchoredMatcher, ...]] = {}
    for word, by_code in starting.items():
        matchers = []
        for code, own in by_code.items():
            key = tuple(rule.index for rule in own)
            if key not in compiled:
                alternation = "|".join(f"(?P<r{rule.index}>{rule.regex})" for rule in own)
                compiled[key] = AnchoredMatcher(
                    code=code,
                    pattern=_compile(rf"(?:{alternation})(?![\w'])", f"rules of {code}"),
                    rules={f"r{rule.index}": rule for rule in own},
                )
            matchers.append(compiled[key])
        index[word] = tuple(matchers)
    return index


def _index(
    rules: Sequence[Rule], disclaimers: CuePatterns, affirmations: CuePatterns
) -> dict[str, WordStart]:
    matchers = _rule_index(rules)
    keys = (
        matchers.keys() | disclaimers.by_leading_words.keys() | affirmations.by_leading_words.keys()
    )
    alone: dict[str, IndexEntry] = {}
    followed_by: dict[str, dict[str, IndexEntry]] = {}
    for key in keys:
        entry = IndexEntry(
            matchers=matchers.get(key, ()),
            disclaimer=disclaimers.by_leading_words.get(key),
            affirmation=affirmations.by_leading_words.get(key),
        )
        if len(key) == 1:
            alone[key[0]] = entry
        else:
            followed_by.setdefault(key[0], {})[key[1]] = entry
    return {
        first: WordStart(alone=alone.get(first), followed_by=followed_by.get(first, {}))
        for first in alone.keys() | followed_by.keys()
    }


def _cues(cues: Mapping[str, Any], key: str, macros: Mapping[str, str]) -> CuePatterns:
    patterns = cues.get(key, [])
    if not isinstance(patterns, list) or not all(isinstance(item, str) for item in patterns):
        raise RulesError(f"[cues] {key} must be a list of patterns")
    by_words: dict[Words, list[str]] = {}
    floating: list[str] = []
    for pattern in patterns:
        regex = _expand_macros(pattern, macros, f"[cues] {key}")
        _compile(regex, f"[cues] {key}")
        leading = leading_words(regex)
        if leading is None:
            floating.append(regex)
        for words in leading or ():
            by_words.setdefault(words, []).append(regex)
    return CuePatterns(
        by_leading_words={
            words: _compile(rf"(?:{'|'.join(own)})(?![\w'])", f"[cues] {key}")
            for words, own in by_words.items()
        },
        floating=_compile(_bounded("|".join(floating)), f"[cues] {key}") if floating else None,
    )


def _words(table: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RulesError(f"{where} {key} must be a list of words")
    return frozenset(word.casefold() for word in value)


def _english_words(
    table: Mapping[str, Any], rules: Sequence[Rule], lexicon: Lexicon
) -> frozenset[str]:
    """The listed common words plus every word the rules themselves look for (no clause marks)."""
    listed = _words(table, "english_words", "[language]")
    words = {word for item in listed for word in lexicon.canonical_words(item)}
    for rule in rules:
        words.update(_VOCABULARY.findall(rule.regex))
    return frozenset(words - {SENTENCE_END, CLAUSE_BREAK})


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
    symbols = {
        str(symbol): tuple(str(value).split())
        for symbol, value in _table(document, "symbols").items()
    }
    lexicon = Lexicon(replacements=replacements, symbols=symbols)
    macros = {str(name): str(value) for name, value in _table(document, "macros").items()}
    entries = document.get("rule", [])
    if not isinstance(entries, list) or not entries:
        raise RulesError("the file must define at least one [[rule]]")
    rules = [_parse_rule(index, entry, macros, lexicon) for index, entry in enumerate(entries)]
    cues = _table(document, "cues")
    disclaimers = _cues(cues, "disclaimers", macros)
    contrast_before = _words(cues, "contrast_before", "[cues]")
    concessive_openers = _words(cues, "concessive_openers", "[cues]")
    affirmations = _cues(cues, "affirmations", macros)
    return RuleSet(
        lexicon=lexicon,
        settings=_settings(_table(document, "settings")),
        fallback=_fallback(_table(document, "fallback")),
        rules=tuple(rules),
        index=_index(rules, disclaimers, affirmations),
        floating=tuple(
            FloatingRule(
                rule, _compile(_bounded(rule.regex), "floating rule"), required_text(rule.regex)
            )
            for rule in rules
            if rule.leading_words is None
        ),
        negators=_words(cues, "negators", "[cues]"),
        negation_scope_breaks=_words(cues, "negation_scope_breaks", "[cues]"),
        contrast_before=contrast_before,
        concessive_openers=concessive_openers,
        clause_words=contrast_before | concessive_openers | {SENTENCE_END, CLAUSE_BREAK},
        english_words=_english_words(_table(document, "language"), rules, lexicon),
        floating_disclaimers=disclaimers.floating,
        floating_affirmations=affirmations.floating,
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
