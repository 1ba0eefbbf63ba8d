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
from rapport.reasons.learned import (
    NO_REASON_LABEL,
    LearnedReader,
    Reading,
    load_reader,
    packaged_model_bytes,
)
from rapport.reasons.model import CONFIDENT, NO_REASON, Classification, Evidence
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


class Decision(NamedTuple):
    """How a classification was reached, before its confidence is calibrated."""

    primary: ReasonCode
    #: Which reader decided ("rules", "model", ...; see ``decide``), None for derived reasons.
    path: str | None
    #: The deciding reader's own score, the input of the path's calibration.
    raw: float
    reasons: tuple[ReasonCode, ...]
    evidence: tuple[Evidence, ...]
    language: str | None
    #: The finished result when nothing needs calibrating (derived or unknown reasons).
    result: Classification | None


#: The language reported for a note the learned reader has mostly never seen the like of.
UNSEEN_LANGUAGE = "und"


def _interpolate(xs: list[float], ys: list[float], x: float) -> float:
    """Piecewise-linear lookup in an isotonic calibration, flat beyond its ends."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    right = bisect_right(xs, x)
    x0, x1, y0, y1 = xs[right - 1], xs[right], ys[right - 1], ys[right]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)


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
    language: str | None = None,
) -> Classification:
    """A classification with reasons (``NO_REASON`` is the only one without).

    Built through pydantic's validation on purpose: for these small models it is faster than
    ``model_construct`` (measured with pydantic 2.13), and it keeps the confidence bounds checked.
    """
    return Classification(
        primary_reason=primary_reason,
        reasons=reasons,
        confidence=confidence,
        evidence=evidence,
        language=language,
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

    def __init__(self, rules: RuleSet, reader: LearnedReader | None = None) -> None:
        self._rules = rules
        self._reader = reader
        labels = reader.reasons.labels if reader is not None else ()
        #: Per outcome, the codes it may not be given ([outcomes] in the rules).
        self._barred = {
            outcome: frozenset(
                code for code, allowed in rules.allowed_outcomes.items() if outcome not in allowed
            )
            for outcome in Outcome
        }
        #: Per outcome, the model's labels it may give: code, or None for ``none`` (no reason).
        self._model_labels = {
            outcome: {
                label: None if label == NO_REASON_LABEL else ReasonCode(label)
                for label in labels
                if label == NO_REASON_LABEL or ReasonCode(label) not in self._barred[outcome]
            }
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
        decision = self.decide(note, request, outcome)
        if decision.result is not None:
            return decision.result
        return _result(
            primary_reason=decision.primary,
            reasons=decision.reasons,
            confidence=self._confidence(decision),
            evidence=decision.evidence,
            language=decision.language,
        )

    def decide(self, note: str | None, request: RequestFacts | None, outcome: Outcome) -> Decision:
        """Which reader gives the primary reason, and its raw score (before calibration).

        The rules win when their score reaches ``rule_trust``: they are precise and quote exact
        wording (on notes from other writers, letting the model outvote them did worse).
        Otherwise the learned reader's likeliest reason stands in when its probability reaches
        ``model_min`` and the note's language is one it was trained on. Otherwise a weak rule
        match, else the reasons derived from the request facts (``path`` None).
        """
        stated = self._read_note(note, outcome) if note else []
        derived = _derived(request) if request is not None else ()
        reading = self._reader.read(note) if self._reader is not None and note else None
        language, model_code, model_probability = self._model_choice(reading, outcome)
        settings = self._reader.settings if self._reader is not None else {}
        top = stated[0] if stated else None
        rules_score = self._rules_score(stated)
        usable = model_code is not None and model_probability >= settings.get("model_min", 1.0)
        if top is not None:
            agreeing = model_code == top.code
            clear = rules_score >= settings.get("rule_trust", 0.0)
            if clear or not usable:
                if not clear:
                    path = "weak_rules"
                elif model_code is None:
                    path = "rules"
                else:
                    path = "rules_with_model" if agreeing else "rules_over_model"
                return self._decision(stated, derived, path, rules_score, language)
        if not usable:
            result = self._without_note_reason(derived, request, outcome)
            if language is not None:
                result = result.model_copy(update={"language": language})
            return Decision(
                result.primary_reason or ReasonCode.UNKNOWN, None, 0.0, (), (), language, result
            )
        assert note is not None
        assert self._reader is not None
        assert model_code is not None
        agreeing = top is not None and top.code == model_code
        evidence = (
            top.evidence
            if top is not None and agreeing
            else Evidence(
                code=model_code,
                source="note",
                text=self._quote(
                    note,
                    self._reader.evidence(
                        note, model_code, self._rules.settings.max_evidence_chars
                    ),
                ),
            )
        )
        others = [reason for reason in stated if reason.code != model_code]
        stated_first = [_Reason(model_code, model_probability, evidence), *others]
        path = "model_with_rules" if agreeing else "model"
        return self._decision(stated_first, derived, path, model_probability, language)

    def _decision(
        self,
        stated: list[_Reason],
        derived: tuple[Evidence, ...],
        path: str,
        raw: float,
        language: str | None,
    ) -> Decision:
        codes = [reason.code for reason in stated]
        contributing = [item for item in derived if item.code not in codes]
        return Decision(
            primary=codes[0],
            path=path,
            raw=raw,
            reasons=(*codes, *[item.code for item in contributing]),
            evidence=(*[reason.evidence for reason in stated], *contributing),
            language=language,
            result=None,
        )

    def _rules_score(self, stated: list[_Reason]) -> float:
        """The rules' own confidence: the top score less a penalty for a competing reason."""
        if not stated:
            return 0.0
        runner_up = stated[1].score if len(stated) > 1 else 0.0
        return stated[0].score - self._rules.settings.competition_penalty * runner_up

    def _model_choice(
        self, reading: Reading | None, outcome: Outcome
    ) -> tuple[str | None, ReasonCode | None, float]:
        """The note's language, and the learned reader's reason if it names one it may give.

        A note whose features the model has mostly never seen is in a language it was not trained
        on: its language is reported as ``und`` and the model says nothing.
        """
        if reading is None or self._reader is None or reading.coverage is None:
            return None, None, 0.0
        if reading.coverage < self._reader.settings.get("coverage_min", 0.0):
            return UNSEEN_LANGUAGE, None, 0.0
        allowed = self._model_labels[outcome]
        probability, label = max(
            (probability, label)
            for label, probability in reading.probabilities.items()
            if label in allowed
        )
        return reading.language, allowed[label], probability if allowed[label] else 0.0

    def _confidence(self, decision: Decision) -> float:
        """The calibrated chance that the primary reason is right (dev split, per path).

        Isotonic on dev, then held below 0.8 unless the raw score is in the path's confident
        region (where dev cases were right at least 99% of the time), so 0.8 keeps its promise.
        """
        cap = self._rules.settings.max_confidence
        calibration = self._reader.settings.get("calibration") if self._reader else None
        if not calibration:
            return round(min(decision.raw, cap), 3)
        fit = calibration.get(decision.path) or calibration["pooled"]
        value = min(_interpolate(fit["x"], fit["y"], decision.raw), cap)
        confident_from = fit["confident_from"]
        if confident_from is not None and decision.raw >= confident_from:
            value = max(value, CONFIDENT)
        else:
            value = min(value, CONFIDENT - 0.01)
        return round(value, 3)

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
    """The classifier over the packaged rules and model, built once per process on first use."""
    rules = default_rules()
    return ReasonClassifier(rules, load_reader(packaged_model_bytes(), rules.lexicon.symbols))


def classify(note: str | None, request: RequestFacts | None, outcome: Outcome) -> Classification:
    """Reasons for one request's outcome; ``request`` is None when the sent event is not known."""
    return default_classifier().classify(note, request, outcome)
