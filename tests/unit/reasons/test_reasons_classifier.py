"""Behaviour of the reason classifier on the cases the issue calls out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.codes import Outcome, ReasonCode
from rapport.contract import RequestFacts
from rapport.reasons import Classification, classify
from rapport.reasons.model import NO_REASON
from tests.support.examples import examples

SEED_NOTE = "I only connect with people I have met in person or virtually"
PMP_NO_NOTE = RequestFacts.model_validate(
    {"note": None, "context": {"shared_credentials": ["PMP"]}}
)
WELL_CONNECTED = RequestFacts.model_validate(
    {"note": "Loved your talk on hiring.", "context": {"mutual_connections": 3}}
)
STRANGER = RequestFacts.model_validate({"note": None, "context": {}})


def declined(note: str | None, request: RequestFacts | None = WELL_CONNECTED) -> Classification:
    return classify(note, request, Outcome.DECLINED)


def note_evidence(result: Classification, code: ReasonCode) -> str:
    return next(
        item.text for item in result.evidence if item.code == code and item.source == "note"
    )


def test_seed_case_is_met_only_quoting_the_note_with_no_note_contributing() -> None:
    result = declined(SEED_NOTE, PMP_NO_NOTE)
    assert result.primary_reason == ReasonCode.MET_ONLY
    assert result.reasons == (ReasonCode.MET_ONLY, ReasonCode.NO_NOTE)
    assert result.confidence is not None
    assert result.confidence >= 0.8
    quoted = note_evidence(result, ReasonCode.MET_ONLY)
    assert quoted in SEED_NOTE
    assert "met in person" in quoted
    assert any(
        item.code == ReasonCode.NO_NOTE and item.source == "request" for item in result.evidence
    )


@pytest.mark.parametrize(
    "note",
    [
        "I only connect with people I’ve met",
        "I only connect with people I've met",
        "i   ONLY connect with PEOPLE i have MET",
        "i only conect w ppl ive met",
        "I only connect with people Ive met",
    ],
)
def test_normalisation_of_apostrophes_case_spacing_and_text_speak(note: str) -> None:
    result = declined(note)
    assert result.primary_reason == ReasonCode.MET_ONLY
    assert note_evidence(result, ReasonCode.MET_ONLY) in note


def test_evidence_keeps_the_original_curly_apostrophe() -> None:
    note = "Sorry — I don’t connect with people I haven’t met."
    assert "haven’t met" in note_evidence(declined(note), ReasonCode.MET_ONLY)


@pytest.mark.parametrize(
    ("note", "expected", "absent"),
    [
        (
            "I do connect with people I haven't met, but not with salespeople",
            ReasonCode.SALES_PITCH,
            ReasonCode.MET_ONLY,
        ),
        (
            "Nice note, but I don't connect with recruiters.",
            ReasonCode.RECRUITER,
            ReasonCode.GENERIC_NOTE,
        ),
        (
            "Your note wasn't generic, but I only connect with people I've met.",
            ReasonCode.MET_ONLY,
            ReasonCode.GENERIC_NOTE,
        ),
        (
            "Not because you're a recruiter: I only connect with people I've met.",
            ReasonCode.MET_ONLY,
            ReasonCode.RECRUITER,
        ),
        (
            "You don't look like a bot, but I only accept people I've met.",
            ReasonCode.MET_ONLY,
            ReasonCode.WEAK_PROFILE,
        ),
        (
            "I don't accept requests with canned messages.",
            ReasonCode.GENERIC_NOTE,
            ReasonCode.UNKNOWN,
        ),
    ],
)
def test_negation_and_contrast(note: str, expected: ReasonCode, absent: ReasonCode) -> None:
    result = declined(note)
    assert result.primary_reason == expected
    assert absent not in result.reasons


def test_nice_note_but_no_reason_is_not_generic_note() -> None:
    result = declined("Nice note, but no.")
    assert ReasonCode.GENERIC_NOTE not in result.reasons
    assert result.primary_reason == ReasonCode.UNKNOWN


def test_mixed_reasons_are_all_listed_strongest_first() -> None:
    result = declined("Your profile looks empty, and I guess it is a numbers game for you.")
    assert result.reasons[:2] == (ReasonCode.WEAK_PROFILE, ReasonCode.COLLECTOR)
    both = declined("I don't connect with recruiters, and frankly I don't know you.")
    assert set(both.reasons[:2]) == {ReasonCode.RECRUITER, ReasonCode.DOESNT_RECOGNIZE}
    single = declined("I don't connect with recruiters.")
    assert both.confidence is not None
    assert single.confidence is not None
    assert both.confidence <= single.confidence, "a competing reason never raises confidence"


def test_long_note_with_pleasantries_finds_the_reason() -> None:
    note = (
        "Hi Alex, thank you so much for the kind message and for thinking of me, I really "
        "appreciate it. I hope the new role is going well! Unfortunately I keep my network to "
        "people I've worked with directly, so I'll decline for now. Wishing you the very best."
    )
    result = declined(note)
    assert result.primary_reason == ReasonCode.MET_ONLY
    assert note_evidence(result, ReasonCode.MET_ONLY) in note


@pytest.mark.parametrize(
    "note",
    [
        "Solo conecto con personas que conozco en persona.",
        "Ich vernetze mich nur mit Leuten, die ich persönlich kenne.",
        "実際に会った人としかつながりません。",
        "Je n'accepte que les personnes que j'ai rencontrées.",
        "我只加见过面的人。",
    ],
)
def test_notes_in_other_languages_are_read(note: str) -> None:
    result = declined(note)
    assert result.primary_reason == ReasonCode.MET_ONLY
    assert note_evidence(result, ReasonCode.MET_ONLY) in note


@pytest.mark.parametrize(
    "note",
    [
        "Я добавляю только тех, с кем знаком лично.",  # Russian: never trained on
        "직접 만난 사람만 추가합니다.",  # Korean: never trained on
        "🙏🙂",
        "",
        "   ",
        None,
    ],
)
def test_unseen_languages_emoji_and_empty_give_unknown_with_low_confidence(
    note: str | None,
) -> None:
    result = declined(note)
    assert result.primary_reason == ReasonCode.UNKNOWN
    assert result.confidence is not None
    assert result.confidence <= 0.2
    assert all(item.source == "request" for item in result.evidence)


def test_unreadable_note_falls_back_to_derived_reasons_with_low_confidence() -> None:
    result = declined("Sadece tanıdığım kişilerle bağlantı kuruyorum.", STRANGER)  # Turkish
    assert result.primary_reason == ReasonCode.NO_COMMON_GROUND
    assert result.reasons == (ReasonCode.NO_COMMON_GROUND, ReasonCode.NO_NOTE)
    assert result.confidence is not None
    assert 0.3 <= result.confidence <= 0.5
    assert result.language == "und"


@pytest.mark.parametrize("outcome", [Outcome.ACCEPTED, Outcome.PENDING, Outcome.WITHDRAWN])
def test_outcomes_without_reasons(outcome: Outcome) -> None:
    assert classify(SEED_NOTE, STRANGER, outcome) == NO_REASON


def test_no_decision_only_for_no_response() -> None:
    assert (
        classify(None, WELL_CONNECTED, Outcome.NO_RESPONSE).primary_reason == ReasonCode.NO_DECISION
    )
    assert classify(None, WELL_CONNECTED, Outcome.DECLINED).primary_reason == ReasonCode.UNKNOWN
    limit = "I'm at the connection limit."
    assert (
        classify(limit, WELL_CONNECTED, Outcome.NO_RESPONSE).primary_reason
        == ReasonCode.NO_DECISION
    )
    assert ReasonCode.NO_DECISION not in classify(limit, WELL_CONNECTED, Outcome.DECLINED).reasons


def test_no_response_without_facts_is_unknown_and_stranger_is_derived() -> None:
    assert classify(None, None, Outcome.NO_RESPONSE).primary_reason == ReasonCode.UNKNOWN
    result = classify(None, STRANGER, Outcome.NO_RESPONSE)
    assert result.reasons == (ReasonCode.NO_COMMON_GROUND, ReasonCode.NO_NOTE)


def test_unknown_request_gives_no_derived_reasons() -> None:
    result = declined(SEED_NOTE, None)
    assert result.reasons == (ReasonCode.MET_ONLY,)


def test_derived_confidence_is_low_and_evidence_names_the_facts() -> None:
    result = declined(None, STRANGER)
    assert result.confidence is not None
    assert 0.3 <= result.confidence <= 0.5
    assert {item.source for item in result.evidence} == {"request"}
    assert "mutual connections" in result.evidence[0].text


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*"aeimnotu ’'.,!?-—😀", "not ", "only ", "I've ", "met ", "you ", "recruiters", "but "]
        ),
        max_size=60,
    ).map("".join),
    st.sampled_from([Outcome.DECLINED, Outcome.NO_RESPONSE]),
)
def test_any_text_gives_bounded_confidence_and_verbatim_evidence(
    note: str, outcome: Outcome
) -> None:
    result = classify(note, STRANGER, outcome)
    assert result.confidence is not None
    assert 0.0 <= result.confidence <= 1.0
    assert result.primary_reason == result.reasons[0]
    for item in result.evidence:
        if item.source == "note":
            assert item.text
            assert item.text in note


def test_module_is_pure() -> None:
    package = Path(__import__("rapport.reasons", fromlist=["_"]).__file__ or "").parent
    allowed_roots = {"rapport", "pydantic", "__future__"}
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root in allowed_roots or root in __import__("sys").stdlib_module_names, (
                    f"{source.name} imports {name}"
                )
