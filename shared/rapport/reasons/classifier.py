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

from bisect import bisect_right
from functools import cache
from typing import NamedTuple

from rapport.codes import OUTCOMES_WITH_REASONS, Outcome, ReasonCode
from rapport.contract import RequestContext, RequestFacts
from rapport.reasons.model import NO_REASON, Classification, Evidence
from rapport.reasons.rules import Rule, RuleSet, default_rules
from rapport.reasons.text import CLAUSE_BREAK, SENTENCE_END, NormalisedText, normalise

_BREAKS = frozenset({SENTENCE_END, CLAUSE_BREAK})

# The per-note records below are NamedTuples, not dataclasses: every note creates several of them
# and tuples are the cheapest immutable records to build.


class _Hit(NamedTuple):
    rule: Rule
    first_word: int
    clause: int
    span: tuple[int, int]


class _Reason(NamedTuple):
    code: ReasonCode
    score: float
    evidence: Evidence


class _Scan(NamedTuple):
    """What one pass over a note found: rule matches, and the words where cues start."""

    #: Each non-empty match of a rule the outcome allows, as (rule, first word, last word).
    matches: list[tuple[Rule, int, int]]
    disclaimers: list[int]
    affirmations: list[int]


class _Clauses(NamedTuple):
    """Where each clause starts (ascending word indices), and which clauses are concessions."""

    starts: list[int]
    concessive: set[int]

    def of_word(self, word: int) -> int:
        """The clause holding ``word``: a clause mark ends its clause, a contrast word opens one."""
        return bisect_right(self.starts, word) - 1


def _clauses(words: tuple[str, ...], rules: RuleSet) -> _Clauses:
    """Clauses split at clause marks and contrast words; only those words need looking at.

    A contrast word or concessive opener starts a new clause unless it already opens one
    (it is the first word, or follows a clause mark).
    """
    starts = [0]
    concessive: set[int] = set()
    last_mark = -1
    for index in [index for index, word in enumerate(words) if word in rules.clause_words]:
        word = words[index]
        contrast = word in rules.contrast_before
        opener = word in rules.concessive_openers
        if not (contrast or opener):  # a clause mark
            starts.append(index + 1)
            last_mark = index
            continue
        if index - 1 != last_mark:
            starts.append(index)
        current = len(starts) - 1
        if contrast and current > 0:
            concessive.add(current - 1)
        if opener:
            concessive.add(current)
    return _Clauses(starts, concessive)


_NO_NOTE = Evidence(
    code=ReasonCode.NO_NOTE, source="request", text="the request had no personal note"
)
_NO_COMMON_GROUND = Evidence(
    code=ReasonCode.NO_COMMON_GROUND,
    source="request",
    text="no mutual connections, shared groups, employers, schools, credentials "
    "or prior interaction",
)


def _result(
    primary_reason: ReasonCode,
    reasons: tuple[ReasonCode, ...],
    confidence: float,
    evidence: tuple[Evidence, ...] = (),
) -> Classification:
    """A classification with reasons (``NO_REASON`` is the only one without).

    Built through pydantic's validation on purpose: for these small models it is faster than
    ``model_construct`` (measured with pydantic 2.13), and it keeps the confidence bounds checked.
    """
    return Classification(
        primary_reason=primary_reason, reasons=reasons, confidence=confidence, evidence=evidence
    )


def _first_per_clause(word_indices: list[int], clauses: _Clauses) -> dict[int, int]:
    """Per clause, the first of ``word_indices`` that falls in it."""
    first: dict[int, int] = {}
    for word in word_indices:
        clause = clauses.of_word(word)
        first[clause] = min(first.get(clause, word), word)
    return first


def _has_common_ground(context: RequestContext) -> bool:
    return bool(
        context.mutual_connections
        or context.shared_groups
        or context.shared_credentials
        or context.shared_employers
        or context.shared_schools
        or context.prior_interaction != "none"
    )


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


def _derived(request: RequestFacts) -> tuple[Evidence, ...]:
    """Derived reasons, no common ground first: it matters more than a note (DESIGN §6)."""
    no_common_ground = not _has_common_ground(request.context)
    no_note = not (request.note or "").strip()
    if no_common_ground:
        return (_NO_COMMON_GROUND, _NO_NOTE) if no_note else (_NO_COMMON_GROUND,)
    return (_NO_NOTE,) if no_note else ()


def _without_subsumed(hits: list[_Hit]) -> list[_Hit]:
    """Drop a match lying inside a stronger match: the same words are not evidence twice.

    "if we haven't met, I don't connect" is one met_only statement, not also doesnt_recognize,
    and a rule matching inside another match of the same code adds nothing. Between codes only a
    strictly stronger match absorbs a weaker one; within a code, ties go to the earlier match.
    """
    if len(hits) < 2:
        return hits
    strengths = [(hit.rule.weight, hit.span[1] - hit.span[0]) for hit in hits]
    kept = []
    for index, hit in enumerate(hits):
        start, end = hit.span
        for other_index, other in enumerate(hits):
            if other_index == index or not (other.span[0] <= start and end <= other.span[1]):
                continue
            if other.rule.code != hit.rule.code:
                absorbed = other.rule.weight > hit.rule.weight
            else:
                absorbed = strengths[other_index] > strengths[index] or (
                    strengths[other_index] == strengths[index] and other_index < index
                )
            if absorbed:
                break
        else:
            kept.append(hit)
    return kept


class ReasonClassifier:
    """Classifies with one compiled rule set; :func:`classify` uses the packaged rules."""

    def __init__(self, rules: RuleSet) -> None:
        self._rules = rules
        #: Per outcome, the codes it may not be given ([outcomes] in the rules).
        self._barred = {
            outcome: frozenset(
                code for code, allowed in rules.allowed_outcomes.items() if outcome not in allowed
            )
            for outcome in Outcome
        }
        fallback = rules.fallback
        #: The results when the note states nothing: they depend only on what was derived, so
        #: they are built once (results are immutable).
        self._derived_only = {
            tuple(item.code for item in derived): _result(
                primary_reason=derived[0].code,
                reasons=tuple(item.code for item in derived),
                confidence=fallback.derived[derived[0].code],
                evidence=derived,
            )
            for derived in ((_NO_COMMON_GROUND, _NO_NOTE), (_NO_COMMON_GROUND,), (_NO_NOTE,))
        }
        self._unknown = _result(
            primary_reason=ReasonCode.UNKNOWN,
            reasons=(ReasonCode.UNKNOWN,),
            confidence=fallback.unknown,
        )

    def classify(
        self, note: str | None, request: RequestFacts | None, outcome: Outcome
    ) -> Classification:
        """Reasons for one request's outcome; ``request`` is None when the sent event is unknown."""
        if outcome not in OUTCOMES_WITH_REASONS:
            return NO_REASON
        stated = self._read_note(note, outcome) if note else []
        derived = _derived(request) if request is not None else ()
        if not stated:
            return self._without_note_reason(derived, request, outcome)
        codes = [reason.code for reason in stated]
        contributing = [item for item in derived if item.code not in codes]
        runner_up = stated[1].score if len(stated) > 1 else 0.0
        settings = self._rules.settings
        confidence = stated[0].score - settings.competition_penalty * runner_up
        return _result(
            primary_reason=codes[0],
            reasons=(*codes, *[item.code for item in contributing]),
            confidence=round(min(confidence, settings.max_confidence), 3),
            evidence=(*[reason.evidence for reason in stated], *contributing),
        )

    def _without_note_reason(
        self, derived: tuple[Evidence, ...], request: RequestFacts | None, outcome: Outcome
    ) -> Classification:
        if derived:
            return self._derived_only[tuple([item.code for item in derived])]
        if request is not None and self._allowed(ReasonCode.NO_DECISION, outcome):
            facts = _describe_common_ground(request.context)
            evidence = Evidence(
                code=ReasonCode.NO_DECISION,
                source="request",
                text=f"no reply although the request had a note and common ground ({facts})",
            )
            return _result(
                primary_reason=ReasonCode.NO_DECISION,
                reasons=(ReasonCode.NO_DECISION,),
                confidence=self._rules.fallback.no_decision,
                evidence=(evidence,),
            )
        return self._unknown

    def _allowed(self, code: ReasonCode, outcome: Outcome) -> bool:
        return code not in self._barred[outcome]

    def _readable(self, text: NormalisedText) -> bool:
        """Whether the note has words and enough of them are English for the rules to apply."""
        words = text.words
        count = len(words) - words.count(SENTENCE_END) - words.count(CLAUSE_BREAK)
        if count == 0:
            return False
        if count < self._rules.settings.language_check_min_words:
            return True
        # english_words holds no clause marks, so counting over all words counts only real words.
        english = sum(map(self._rules.english_words.__contains__, words))
        return english / count >= self._rules.settings.min_english_share

    def _read_note(self, note: str, outcome: Outcome) -> list[_Reason]:
        """The reasons the note states, strongest first (ties in the order they are written)."""
        if note.isspace():
            return []
        text = normalise(note, self._rules.lexicon)
        if not self._readable(text):
            return []
        scan = self._scan(text, self._barred[outcome])
        if not scan.matches:
            return []
        clauses = _clauses(text.words, self._rules)
        hits = _without_subsumed(self._hits(text, clauses, scan))
        if not hits:
            return []
        weights = self._effective_weights(hits, text, clauses, scan)
        return self._score(hits, weights, note)

    def _negated(self, words: tuple[str, ...], first_word: int, clause_start: int) -> bool:
        """A negator shortly before the match, unless a verb or preposition takes it first."""
        window_start = max(clause_start, first_word - self._rules.settings.negation_window)
        for index in range(first_word - 1, window_start - 1, -1):
            if words[index] in self._rules.negation_scope_breaks:
                return False
            if words[index] in self._rules.negators:
                return True
        return False

    def _scan(self, text: NormalisedText, barred: frozenset[ReasonCode]) -> _Scan:
        """One pass over the words: rule matches, and where disclaimers and affirmations start.

        Rules and cues are only tried at positions holding their leading words (``firstwords.py``),
        and rules of ``barred`` codes (not allowed for the outcome) are not tried at all.
        """
        index = self._rules.index
        source, words, starts = text.text, text.words, text.starts
        scan = _Scan([], [], [])
        last = len(words) - 1
        for position, word in enumerate(words):
            word_start = index.get(word)
            if word_start is None:
                continue
            offset = starts[position]
            following = word_start.followed_by.get(words[position + 1]) if position < last else None
            for entry in (word_start.alone, following):
                if entry is None:
                    continue
                for matcher in entry.matchers:
                    if matcher.code in barred:
                        continue
                    match = matcher.pattern.match(source, offset)
                    if match is not None and (end := match.end()) > offset:
                        rule = matcher.rules[match.lastgroup or ""]
                        scan.matches.append((rule, *text.word_range(offset, end)))
                if entry.disclaimer is not None and entry.disclaimer.match(source, offset):
                    scan.disclaimers.append(position)
                if entry.affirmation is not None and entry.affirmation.match(source, offset):
                    scan.affirmations.append(position)
        self._search_floating(text, barred, scan)
        return scan

    def _search_floating(
        self, text: NormalisedText, barred: frozenset[ReasonCode], scan: _Scan
    ) -> None:
        """Add the matches of rules and cues whose leading words are unknown to ``scan``."""
        source = text.text
        for floating in self._rules.floating:
            if floating.rule.code in barred or (
                floating.required is not None
                and not any(required in source for required in floating.required)
            ):
                continue
            scan.matches.extend(
                (floating.rule, *text.word_range(match.start(), match.end()))
                for match in floating.pattern.finditer(source)
                if match.end() > match.start()
            )
        for cues, found in (
            (self._rules.floating_disclaimers, scan.disclaimers),
            (self._rules.floating_affirmations, scan.affirmations),
        ):
            if cues is not None:
                found.extend(text.word_range(m.start(), m.end())[0] for m in cues.finditer(source))

    def _hits(self, text: NormalisedText, clauses: _Clauses, scan: _Scan) -> list[_Hit]:
        """Matches that survive disclaimers and negation."""
        disclaimed = _first_per_clause(scan.disclaimers, clauses) if scan.disclaimers else {}
        no_disclaimer = len(text.words)
        hits = []
        for rule, first, last in scan.matches:
            clause = clauses.of_word(first)
            if first >= disclaimed.get(clause, no_disclaimer):
                continue
            if rule.negatable and self._negated(text.words, first, clauses.starts[clause]):
                continue
            hits.append(_Hit(rule, first, clause, text.original_span(first, last)))
        return hits

    def _effective_weights(
        self, hits: list[_Hit], text: NormalisedText, clauses: _Clauses, scan: _Scan
    ) -> list[float]:
        """Discount matches in a conceded clause when a later clause gives a reason of its own."""
        if not clauses.concessive:
            return [hit.rule.weight for hit in hits]
        last_clause = max(hit.clause for hit in hits)
        affirmed = _first_per_clause(scan.affirmations, clauses)
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

    def _score(self, hits: list[_Hit], weights: list[float], note: str) -> list[_Reason]:
        """Per code: strongest rule in full, further distinct rules damped (noisy-or)."""
        best: dict[ReasonCode, dict[int, tuple[float, _Hit]]] = {}
        for hit, weight in zip(hits, weights, strict=True):
            if weight <= 0:
                continue
            rule = hit.rule
            per_rule = best.get(rule.code)
            if per_rule is None:
                best[rule.code] = {rule.index: (weight, hit)}
                continue
            previous = per_rule.get(rule.index)
            if previous is None or weight > previous[0]:
                per_rule[rule.index] = (weight, hit)
        damping = self._rules.settings.secondary_factor
        reasons: list[tuple[float, int, _Reason]] = []
        for code, per_rule in best.items():
            if len(per_rule) == 1:  # the common case: nothing to rank or combine
                ((weight, strongest),) = per_rule.values()
                doubt = 1.0 - weight
                position = strongest.span[0]
            else:
                ranked = sorted(per_rule.values(), key=lambda item: (-item[0], item[1].span[0]))
                doubt = 1.0 - ranked[0][0]
                for weight, _ in ranked[1:]:
                    doubt *= 1.0 - weight * damping
                strongest = ranked[0][1]
                position = min(hit.span[0] for _, hit in ranked)
            evidence = Evidence(code=code, source="note", text=self._quote(note, strongest.span))
            reasons.append((-(1.0 - doubt), position, _Reason(code, 1.0 - doubt, evidence)))
        if len(reasons) > 1:
            reasons.sort(key=lambda item: item[:2])
        return [reason for *_, reason in reasons]

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
