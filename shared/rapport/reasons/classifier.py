"""Explainable reason classification: the recipient's note first, the request facts second.

How a note is read (details and the reasoning behind every number live in ``rules.toml``):

1. The note is normalised into canonical words that remember their original spans (``text.py``).
2. Notes the rules cannot read (no words, or too few English words) give no note reasons at all,
   so a note in another language can never produce a confident wrong code.
3. Words are grouped into clauses at punctuation and contrast words. A match is dropped when a
   negator precedes it in its clause (for negatable rules) or when it follows a disclaimer such as
   "not because". A match in a clause conceded before "but" counts less when a later clause states
   a reason, and not at all when that clause affirms the opposite ("I do connect with ...").
4. Each code's score combines its strongest rule with damped support from its other rules; codes
   are ordered by score. Confidence is the top score minus a penalty for a competing reason.
5. Derived reasons (no note, no common ground) follow as contributing factors, or become the
   primary reason with a fixed low confidence when the note says nothing usable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from rapport.codes import OUTCOMES_WITH_REASONS, Outcome, ReasonCode
from rapport.contract import RequestContext, RequestFacts
from rapport.reasons.model import NO_REASON, Classification, Evidence
from rapport.reasons.rules import DERIVED_CODES, Rule, RuleSet, default_rules
from rapport.reasons.text import CLAUSE_BREAK, SENTENCE_END, NormalisedText, normalise

_BREAKS = frozenset({SENTENCE_END, CLAUSE_BREAK})


@dataclass(frozen=True, slots=True)
class _Hit:
    rule: Rule
    first_word: int
    clause: int
    span: tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Clauses:
    """Clause index of every word, where each clause starts, and which clauses are concessions."""

    of_word: tuple[int, ...]
    starts: tuple[int, ...]
    concessive: frozenset[int]


def _clauses(words: tuple[str, ...], rules: RuleSet) -> _Clauses:
    of_word: list[int] = []
    starts = [0]
    concessive: set[int] = set()
    current = 0
    has_words = False
    for index, word in enumerate(words):
        if word in rules.contrast_before or word in rules.concessive_openers:
            if has_words:
                current += 1
                starts.append(index)
            if word in rules.contrast_before and current > 0:
                concessive.add(current - 1)
            if word in rules.concessive_openers:
                concessive.add(current)
            has_words = True
        elif word in _BREAKS:
            of_word.append(current)
            current += 1
            starts.append(index + 1)
            has_words = False
            continue
        else:
            has_words = True
        of_word.append(current)
    return _Clauses(tuple(of_word), tuple(starts), frozenset(concessive))


def _describe_common_ground(context: RequestContext) -> str:
    facts = []
    if context.mutual_connections:
        facts.append(f"{context.mutual_connections} mutual connections")
    shared = (
        ("groups", context.shared_groups),
        ("credentials", context.shared_credentials),
        ("employers", context.shared_employers),
        ("schools", context.shared_schools),
    )
    facts.extend(f"shared {label}: {', '.join(values)}" for label, values in shared if values)
    if context.prior_interaction != "none":
        facts.append(context.prior_interaction.replace("_", " "))
    return "; ".join(facts)


def _derived(request: RequestFacts) -> list[Evidence]:
    """Derived reasons in the order of ``DERIVED_CODES`` (common ground matters more than a note)."""
    found = {}
    if not (request.note or "").strip():
        found[ReasonCode.NO_NOTE] = "the request had no personal note"
    if not _describe_common_ground(request.context):
        found[ReasonCode.NO_COMMON_GROUND] = (
            "no mutual connections, shared groups, employers, schools, credentials "
            "or prior interaction"
        )
    return [
        Evidence(code=code, source="request", text=found[code])
        for code in DERIVED_CODES
        if code in found
    ]


class ReasonClassifier:
    """Classifies with one compiled rule set; :func:`classify` uses the packaged rules."""

    def __init__(self, rules: RuleSet) -> None:
        self._rules = rules

    def classify(
        self, note: str | None, request: RequestFacts | None, outcome: Outcome
    ) -> Classification:
        """Reasons for one request's outcome; ``request`` is None when the sent event is unknown."""
        if outcome not in OUTCOMES_WITH_REASONS:
            return NO_REASON
        scores, note_evidence = self._read_note(note or "", outcome)
        derived = _derived(request) if request is not None else []
        if scores:
            ranked = sorted(scores, key=lambda code: -scores[code])
            extra = [item for item in derived if item.code not in scores]
            runner_up = scores[ranked[1]] if len(ranked) > 1 else 0.0
            settings = self._rules.settings
            confidence = scores[ranked[0]] - settings.competition_penalty * runner_up
            return Classification(
                primary_reason=ranked[0],
                reasons=(*ranked, *(item.code for item in extra)),
                confidence=round(min(confidence, settings.max_confidence), 3),
                evidence=(*(note_evidence[code] for code in ranked), *extra),
            )
        return self._without_note_reason(derived, request, outcome)

    def _without_note_reason(
        self, derived: list[Evidence], request: RequestFacts | None, outcome: Outcome
    ) -> Classification:
        fallback = self._rules.fallback
        if derived:
            primary = derived[0].code
            return Classification(
                primary_reason=primary,
                reasons=tuple(item.code for item in derived),
                confidence=fallback.derived[primary],
                evidence=tuple(derived),
            )
        if request is not None and self._allowed(ReasonCode.NO_DECISION, outcome):
            facts = _describe_common_ground(request.context)
            evidence = Evidence(
                code=ReasonCode.NO_DECISION,
                source="request",
                text=f"no reply although the request had a note and common ground ({facts})",
            )
            return Classification(
                primary_reason=ReasonCode.NO_DECISION,
                reasons=(ReasonCode.NO_DECISION,),
                confidence=fallback.no_decision,
                evidence=(evidence,),
            )
        return Classification(
            primary_reason=ReasonCode.UNKNOWN,
            reasons=(ReasonCode.UNKNOWN,),
            confidence=fallback.unknown,
        )

    def _allowed(self, code: ReasonCode, outcome: Outcome) -> bool:
        allowed = self._rules.allowed_outcomes.get(code)
        return allowed is None or outcome in allowed

    def _readable(self, text: NormalisedText) -> bool:
        """Whether the note has words and enough of them are English for the rules to apply."""
        words = [word for word in text.words if word not in _BREAKS]
        if not words:
            return False
        if len(words) < self._rules.settings.language_check_min_words:
            return True
        english = sum(word in self._rules.english_words for word in words)
        return english / len(words) >= self._rules.settings.min_english_share

    def _read_note(
        self, note: str, outcome: Outcome
    ) -> tuple[dict[ReasonCode, float], dict[ReasonCode, Evidence]]:
        if not note.strip():
            return {}, {}
        text = normalise(note, self._rules.lexicon)
        if not self._readable(text):
            return {}, {}
        clauses = _clauses(text.words, self._rules)
        hits = self._hits(text, clauses, outcome)
        if not hits:
            return {}, {}
        weights = self._effective_weights(hits, text, clauses)
        return self._score(hits, weights, note)

    def _disclaimed_from(self, text: NormalisedText, clauses: _Clauses) -> dict[int, int]:
        """Per clause, the first word after which a disclaimer ("not because") voids matches."""
        disclaimed: dict[int, int] = {}
        if self._rules.disclaimers is None:
            return disclaimed
        for match in self._rules.disclaimers.finditer(text.text):
            first, _ = text.word_range(match.start(), match.end())
            clause = clauses.of_word[first]
            disclaimed[clause] = min(disclaimed.get(clause, first), first)
        return disclaimed

    def _negated(self, words: tuple[str, ...], first_word: int, clause_start: int) -> bool:
        window_start = max(clause_start, first_word - self._rules.settings.negation_window)
        return any(
            words[index] in self._rules.negators for index in range(window_start, first_word)
        )

    def _hits(self, text: NormalisedText, clauses: _Clauses, outcome: Outcome) -> list[_Hit]:
        disclaimed = self._disclaimed_from(text, clauses)
        hits = []
        for matcher in self._rules.matchers:
            if not self._allowed(matcher.code, outcome):
                continue
            for match in matcher.pattern.finditer(text.text):
                rule = matcher.rules[match.lastgroup or ""]
                first, last = text.word_range(match.start(), match.end())
                clause = clauses.of_word[first]
                if first >= disclaimed.get(clause, len(text.words)):
                    continue
                if rule.negatable and self._negated(text.words, first, clauses.starts[clause]):
                    continue
                hits.append(_Hit(rule, first, clause, text.original_span(first, last)))
        return hits

    def _effective_weights(
        self, hits: list[_Hit], text: NormalisedText, clauses: _Clauses
    ) -> list[float]:
        """Discount matches in a conceded clause when a later clause gives a reason of its own."""
        last_clause = max(hit.clause for hit in hits)
        affirmed = self._affirmed_from(text, clauses)
        weights = []
        for hit in hits:
            weight = hit.rule.weight
            if hit.clause in clauses.concessive and hit.clause < last_clause:
                if hit.first_word >= affirmed.get(hit.clause, len(text.words)):
                    weight = 0.0
                else:
                    weight *= self._rules.settings.concession_factor
            weights.append(weight)
        return weights

    def _affirmed_from(self, text: NormalisedText, clauses: _Clauses) -> dict[int, int]:
        affirmed: dict[int, int] = {}
        if self._rules.affirmations is None:
            return affirmed
        for match in self._rules.affirmations.finditer(text.text):
            first, _ = text.word_range(match.start(), match.end())
            clause = clauses.of_word[first]
            affirmed[clause] = min(affirmed.get(clause, first), first)
        return affirmed

    def _score(
        self, hits: list[_Hit], weights: list[float], note: str
    ) -> tuple[dict[ReasonCode, float], dict[ReasonCode, Evidence]]:
        """Per code: strongest rule in full, further distinct rules damped (noisy-or)."""
        best: dict[ReasonCode, dict[str, tuple[float, _Hit]]] = {}
        for hit, weight in zip(hits, weights, strict=True):
            if weight <= 0:
                continue
            per_rule = best.setdefault(hit.rule.code, {})
            previous = per_rule.get(hit.rule.name)
            if previous is None or weight > previous[0]:
                per_rule[hit.rule.name] = (weight, hit)
        damping = self._rules.settings.secondary_factor
        scores: dict[ReasonCode, float] = {}
        evidence: dict[ReasonCode, Evidence] = {}
        for code, per_rule in best.items():
            ranked = sorted(per_rule.values(), key=lambda item: (-item[0], item[1].span[0]))
            doubt = 1.0 - ranked[0][0]
            for weight, _ in ranked[1:]:
                doubt *= 1.0 - weight * damping
            scores[code] = 1.0 - doubt
            evidence[code] = Evidence(
                code=code, source="note", text=self._quote(note, ranked[0][1].span)
            )
        return scores, evidence

    def _quote(self, note: str, span: tuple[int, int]) -> str:
        """The matched words exactly as written, cut at a word boundary when very long."""
        start, end = span
        limit = self._rules.settings.max_evidence_chars
        if end - start > limit:
            cut = note.rfind(" ", start, start + limit)
            end = cut if cut > start else start + limit
        return note[start:end]


@cache
def default_classifier() -> ReasonClassifier:
    """The classifier over the packaged rules, built once per process."""
    return ReasonClassifier(default_rules())


def classify(note: str | None, request: RequestFacts | None, outcome: Outcome) -> Classification:
    """Reasons for one request's outcome; ``request`` is None when the sent event is not known."""
    return default_classifier().classify(note, request, outcome)
