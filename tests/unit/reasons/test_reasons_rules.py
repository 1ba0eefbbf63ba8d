"""The rules file: every example classifies as its rule's code; bad files are refused clearly."""

from __future__ import annotations

import pytest

from rapport.codes import Outcome, ReasonCode
from rapport.reasons import classify
from rapport.reasons.classifier import ReasonClassifier
from rapport.reasons.firstwords import leading_words, required_text
from rapport.reasons.rules import RulesError, default_rules, parse_rules
from rapport.reasons.text import normalise

RULES = default_rules()

MINIMAL = """
[settings]
negation_window = 4
concession_factor = 0.5
secondary_factor = 0.5
competition_penalty = 0.3
max_confidence = 0.97
min_english_share = 0.3
language_check_min_words = 3
max_evidence_chars = 120
[fallback]
no_common_ground = 0.45
no_note = 0.4
no_decision = 0.3
unknown = 0.15
[cues]
negators = ["not"]
[language]
english_words = ["i", "you"]
[replacements]
dont = "do not"
"""


def test_rules_are_compiled_once() -> None:
    assert default_rules() is RULES


@pytest.mark.parametrize(
    ("rule_index", "example"),
    [(rule.index, example) for rule in RULES.rules for example in rule.examples],
)
def test_every_rule_example_classifies_as_its_code(rule_index: int, example: str) -> None:
    rule = RULES.rules[rule_index]
    outcome = Outcome.NO_RESPONSE if rule.code == ReasonCode.NO_DECISION else Outcome.DECLINED
    result = ReasonClassifier(RULES).classify(example, None, outcome)
    assert rule.code in result.reasons


def test_every_rule_has_an_example_and_every_code_but_unknown_has_rules() -> None:
    assert all(rule.examples for rule in RULES.rules)
    assert {rule.code for rule in RULES.rules} == set(ReasonCode) - {ReasonCode.UNKNOWN}


def test_phrases_are_normalised_like_notes() -> None:
    rules = parse_rules(
        MINIMAL + '[[rule]]\ncode = "recruiter"\nweight = 0.9\nphrases = ["don’t hire"]\n'
    )
    result = ReasonClassifier(rules).classify("I DONT hire people", None, Outcome.DECLINED)
    assert result.primary_reason == ReasonCode.RECRUITER
    assert result.evidence[0].text == "DONT hire"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('code = "nope"\nweight = 0.5\nphrases = ["x"]', "unknown reason code"),
        ('code = "recruiter"\nweight = 1.5\nphrases = ["x"]', "'weight' must be"),
        ('code = "recruiter"\nweight = 0.5', "exactly one of"),
        ('code = "recruiter"\nweight = 0.5\npattern = "{NOPE} x"', "unknown macro"),
        ('code = "recruiter"\nweight = 0.5\npattern = "(unclosed"', "invalid pattern"),
        ('code = "recruiter"\nweight = 0.5\npattern = "(?P<x>a)"', "named groups"),
    ],
)
def test_malformed_rules_name_the_problem(rule: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_rules(MINIMAL + "[[rule]]\n" + rule + "\n")


def test_invalid_toml_is_a_rules_error() -> None:
    with pytest.raises(RulesError, match="not valid TOML"):
        parse_rules("[settings")


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        ("only (?:connect|add) with", {("only", "connect"), ("only", "add")}),
        ("(?:i )?do not know", {("i", "do"), ("do", "not")}),
        ("spam(?:mer)?", {("spam",), ("spammer",)}),
        ("only (?:[a-z]+ ){0,3}people", {("only",)}),
        ("[0-9]+k connections", None),
    ],
)
def test_leading_words(regex: str, expected: set[tuple[str, ...]] | None) -> None:
    assert leading_words(regex) == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        ("[0-9]+k connections", {"k connections"}),
        ("[0-9]+ (?:people|contacts)|random adds", {"people", "contacts", "random adds"}),
        ("(?:foo)+ [a-z]+", {"foo"}),
        ("(?:abc|[0-9])", None),
        ("(?:x )?[0-9]+", None),
        ("(?i)abc", None),
    ],
)
def test_required_text(regex: str, expected: set[str] | None) -> None:
    assert required_text(regex) == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize(
    "note",
    ["no - thanks", "- no", "no -", "1,000\u00a0ppl  -  sooo", "I’ve\tmet u,\nbut no.", ""],
)
def test_normalising_piece_by_piece_reads_like_the_whole_text(note: str) -> None:
    whole = RULES.lexicon.read(note)
    text = normalise(note, RULES.lexicon)
    assert text.words == tuple(word for word, _, _ in whole)
    assert text.original_spans == tuple((start, end) for _, start, end in whole)


def test_normalised_words_map_back_to_original_offsets() -> None:
    note = "I’ve  NEVER met u, sooo no."
    text = normalise(note, RULES.lexicon)
    assert text.text == "i have never met you , soo no ."
    first, last = text.word_range(text.text.index("never"), text.text.index(" you") + 4)
    start, end = text.original_span(first, last)
    assert note[start:end] == "NEVER met u"
    contraction = text.original_span(0, 1)
    assert note[contraction[0] : contraction[1]] == "I’ve"


def test_digits_are_never_squeezed_and_symbols_keep_their_meaning() -> None:
    lexicon = default_rules().lexicon
    assert normalise("I have 28,000 connections and 1000 invites", lexicon).words == (
        "i",
        "have",
        "28,000",
        "connections",
        "and",
        "1000",
        "invites",
    )
    assert "numbers" in normalise("Not gonna be a 🔢 in your collection", lexicon).words
    assert "robot" in normalise("🤖?", lexicon).words
    assert normalise("#1 fan", lexicon).words == ("number", "1", "fan")
    emoji = normalise("no 🙅 thanks", lexicon)
    assert emoji.words == ("no", "refuse", "thanks")
    start, end = emoji.original_span(1, 1)
    assert "no 🙅 thanks"[start:end] == "🙅"


def test_the_connection_limit_is_read_from_its_number() -> None:
    result = classify("Sorry, I'm at 30,000 and can't accept anyone.", None, Outcome.NO_RESPONSE)
    assert result.primary_reason == ReasonCode.NO_DECISION
    assert any("30,000" in item.text for item in result.evidence)
