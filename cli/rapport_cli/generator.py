"""Realistic, reproducible streams of contract events for demos, load tests and property tests.

Memory stays bounded whatever the size of the stream: members are generated one after another,
each member week by week, and a member's events wait in a small heap only until their week is
over (answers come days after the request). Delivery noise (redeliveries, local reordering,
malformed lines) passes through a reorder buffer of a few events. Nothing else is kept.

Every random choice comes from a ``random.Random`` seeded with the seed and the member's index
(string seeds are hashed the same way in every process), so one seed always gives the same bytes.

What the stream looks like, and why:

- each member has a persona (engineer, recruiter, salesperson, student…) that sets how many
  requests they send, how often they write a note and what kind, in one of several timezones;
  times carry the offset of whoever acted (the sender for ``sent`` and ``withdrawn``, the
  recipient for answers, UTC with milliseconds for the platform's ``expired``);
- acceptance depends on what the request had going for it: prior interaction weighs most, then
  shared groups, mutual connections, shared employers or schools, a personal note, the same field
  (DESIGN §6); acceptance delays follow "40% within a day, 70% within a week";
- a decline carries a note about half the time, drawn from a phrase bank per DESIGN §3 reason,
  with weights that follow the request's facts (no prior interaction -> ``met_only``, a pitch ->
  ``sales_pitch``…); some requests are withdrawn, expired by the platform, or never answered;
- events after the stream's horizon (the end of the last week) are not emitted, so late answers
  leave their requests pending;
- every request has exactly one ``sent`` and at most one answer, with one deliberate exception:
  rarely (``RACE_RATE`` of acceptances) the sender withdraws a few seconds *after* the recipient
  accepted, as happens when both click at once. The earlier answer (the acceptance) decides.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from rapport.codes import ReasonCode
from rapport.contract import (
    EventModel,
    PreferencesUpdated,
    PriorInteraction,
    RequestAccepted,
    RequestContext,
    RequestDeclined,
    RequestExpired,
    RequestSent,
    RequestWithdrawn,
    envelope,
)
from rapport_cli.jsonl import json_line

REQUEST_SOURCE = "https://platform.example/connections"
SETTINGS_SOURCE = "https://platform.example/settings"
DEFAULT_START = date(2026, 10, 5)
#: A displaced event arrives at most this many events late; a redelivery as many after the first.
MAX_DISPLACEMENT = 5
RACE_RATE = 0.01

TIMEZONES = (
    "America/Los_Angeles",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
)
_FIRST_NAMES = (
    "Priya", "Jonas", "Ananya", "Marcus", "Sofia", "Liam", "Amara", "Kenji", "Lucia", "Omar",
    "Hannah", "Wei", "Chloe", "Mateo", "Fatima", "Noah", "Ingrid", "Tunde", "Mei", "Rafael",
)  # fmt: skip
_LAST_NAMES = (
    "Raman", "Becker", "Iyer", "Reyes", "Lindqvist", "Walsh", "Okafor", "Tanaka", "Romero",
    "Haddad", "Schmidt", "Zhang", "Dubois", "Silva", "Khan", "Murphy", "Nilsen", "Adeyemi",
)  # fmt: skip
_SENIORITIES = ("Entry", "Associate", "Mid-Senior", "Director", "Executive")
_COMPANIES = (
    "Northwind", "Contoso", "Globex", "Initech", "Umbrella Health", "Stark Analytics",
    "Wayne Logistics", "Acme Cloud", "Hooli", "Vandelay Imports",
)  # fmt: skip
_SCHOOLS = ("State University", "Tech Institute", "City College", "Business School of Lagos")


@dataclass(frozen=True)
class Industry:
    name: str
    titles: tuple[str, ...]
    groups: tuple[str, ...]
    topics: tuple[str, ...]
    credentials: tuple[str, ...]


_INDUSTRIES = (
    Industry(
        "Software Development",
        ("Software Engineer", "Staff Engineer", "Engineering Manager", "SRE"),
        ("Python Developers", "Cloud Native Engineers", "Women in Tech"),
        ("observability", "platform engineering", "Rust adoption"),
        ("AWS Solutions Architect", "CKA"),
    ),
    Industry(
        "Project Management",
        ("Program Manager", "Project Manager", "PMO Lead", "Scrum Master"),
        ("PMI Chapter", "Agile Practitioners"),
        ("agile transformation", "risk management", "portfolio planning"),
        ("PMP", "PRINCE2", "Lean Six Sigma Green Belt"),
    ),
    Industry(
        "Staffing and Recruiting",
        ("Technical Recruiter", "Talent Partner", "Head of Talent"),
        ("Recruiters Network", "HR Leaders"),
        ("candidate experience", "employer branding"),
        ("SHRM-CP",),
    ),
    Industry(
        "Software Sales",
        ("Account Executive", "Sales Director", "SDR Manager"),
        ("SaaS Sales Leaders", "Revenue Operations"),
        ("pipeline forecasting", "cold outreach"),
        ("MEDDIC",),
    ),
    Industry(
        "Design Services",
        ("UX Researcher", "Product Designer", "Design Lead"),
        ("UX Research Community", "Design Systems Guild"),
        ("usability testing", "accessibility", "design systems"),
        ("NN/g UX Certification",),
    ),
    Industry(
        "Financial Services",
        ("Financial Analyst", "Risk Manager", "Portfolio Manager"),
        ("Fintech Forum", "CFA Society"),
        ("credit risk", "open banking"),
        ("CFA",),
    ),
)
_BY_NAME = {industry.name: industry for industry in _INDUSTRIES}

NoteKind = Literal["personal", "generic", "pitch", "recruiting", "student"]


@dataclass(frozen=True)
class Persona:
    role: str
    industry: str
    requests_per_week: float
    note_rate: float
    #: which kind of note this persona writes when it writes one
    notes: tuple[tuple[NoteKind, float], ...]


_PERSONAS = (
    Persona("engineer", "Software Development", 2.5, 0.4, (("personal", 3), ("generic", 1))),
    Persona("project manager", "Project Management", 4, 0.25, (("personal", 1), ("generic", 2))),
    Persona("recruiter", "Staffing and Recruiting", 9, 0.7, (("recruiting", 4), ("generic", 1))),
    Persona("salesperson", "Software Sales", 11, 0.8, (("pitch", 4), ("generic", 1))),
    Persona("designer", "Design Services", 2, 0.6, (("personal", 3), ("generic", 1))),
    Persona("student", "Software Development", 5, 0.5, (("student", 3), ("generic", 1))),
    Persona("analyst", "Financial Services", 3, 0.3, (("personal", 1), ("generic", 1))),
    Persona("collector", "Software Sales", 30, 0.05, (("generic", 1),)),
)
_PERSONA_WEIGHTS = (5, 4, 2, 2, 3, 3, 3, 1)

_SENDER_NOTES: dict[NoteKind, tuple[str, ...]] = {
    "personal": (
        "Hi! We're both in {group} — I enjoyed your comments on {topic} and would like to stay "
        "in touch.",
        "Great talking with you about {topic} at the meetup last week. Let's keep in touch!",
        "Your post on {topic} changed how our team works. I'd be glad to connect.",
        "Hello, I saw your talk on {topic}; I'm working on something similar and would love to "
        "compare notes.",
    ),
    "generic": (
        "I'd like to add you to my professional network.",
        "Hi, I'd like to connect with you.",
        "Let's connect!",
        "Hello, I came across your profile and would like to connect.",
        "Expanding my network — hope you'll accept.",
    ),
    "pitch": (
        "Hi! Our platform helps {industry} teams cut costs by 30%. Open to a quick 15-minute call?",
        "I help companies like yours grow revenue with automation — can I show you a short demo?",
        "Quick question: are you the right person to talk to about your {topic} tooling?",
    ),
    "recruiting": (
        "I have an exciting {title} opportunity that matches your profile. Open to a chat?",
        "We're hiring senior people in {industry} — would you be interested in hearing more?",
        "Your experience caught my eye for a role with one of my clients.",
    ),
    "student": (
        "I'm a student exploring a career in {industry} and would value your perspective.",
        "Hi! I'm studying {topic} and would love to learn from your experience.",
    ),
}

#: What recipients write when they decline, by the DESIGN §3 reason their words state.
DECLINE_PHRASES: dict[ReasonCode, tuple[str, ...]] = {
    ReasonCode.MET_ONLY: (
        "I only connect with people I've met in person or virtually.",
        "Sorry, I keep my network to people I actually know.",
        "I only accept invitations from people I've worked with or met.",
        "My policy is to connect only with people I know personally.",
        "I keep my network for people I've met face to face.",
    ),
    ReasonCode.DOESNT_RECOGNIZE: (
        "Have we met?",
        "Sorry, I don't think we know each other.",
        "I'm not sure who you are — remind me how we know each other?",
        "I don't recognize your name, sorry.",
        "Do we know each other? I can't place you.",
    ),
    ReasonCode.GENERIC_NOTE: (
        "Your note reads like a template.",
        "Please send a personal message rather than a canned one.",
        "This looks like a copy-paste invitation.",
        "I don't accept generic requests — tell me why you want to connect.",
    ),
    ReasonCode.SALES_PITCH: (
        "I'm not interested in sales pitches.",
        "Please don't use connection requests to sell.",
        "Not looking to buy anything, thanks.",
        "I don't connect with vendors pitching their product.",
    ),
    ReasonCode.RECRUITER: (
        "I'm not looking for a new role right now.",
        "I don't connect with recruiters.",
        "Not open to job opportunities at the moment.",
        "Happy where I am, not interested in recruiting offers.",
    ),
    ReasonCode.OFF_FIELD: (
        "We work in very different fields.",
        "Your background is outside my area.",
        "I keep my network focused on {industry}.",
        "Not relevant to my field, sorry.",
    ),
    ReasonCode.WEAK_PROFILE: (
        "Your profile is empty — add some details and try again.",
        "Your profile looks incomplete.",
        "I couldn't tell from your profile who you are or what you do.",
        "Your profile doesn't look genuine, sorry.",
    ),
    ReasonCode.COLLECTOR: (
        "It looks like you're just collecting connections.",
        "I'm not into connecting for the sake of numbers.",
        "You seem to be adding everyone — not for me.",
        "Quality over quantity for me.",
    ),
    ReasonCode.REPUTATION_RISK: (
        "I can't vouch for your work, so I'd rather not connect.",
        "I only connect with people whose work I can recommend.",
        "My connections are people I can vouch for.",
    ),
    ReasonCode.UNKNOWN: (
        "No thanks.",
        "Not at this time.",
        "Thanks, but I'll pass.",
        "Maybe another time.",
        "Gracias, pero no.",
        "🙏",
    ),
}
_DECLINE_OPENINGS = ("", "", "Hi, ", "Thanks for reaching out. ", "Sorry — ", "Hello! ")
_DECLINE_CLOSINGS = ("", "", " Best of luck!", " Take care.", " 🙂")


@dataclass(frozen=True)
class GeneratorConfig:
    members: int
    weeks: int
    seed: int
    start: date = DEFAULT_START
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    malformed_rate: float = 0.0


LineKind = Literal["event", "duplicate", "malformed"]


@dataclass(frozen=True)
class GeneratedLine:
    text: str
    #: ``event`` (first delivery), ``duplicate`` (an exact redelivery) or ``malformed``
    kind: LineKind


@dataclass
class GenerationStats:
    members: int = 0
    requests: int = 0
    events: int = 0
    duplicates: int = 0
    reordered: int = 0
    malformed: int = 0
    races: int = 0

    @property
    def lines(self) -> int:
        return self.events + self.duplicates + self.malformed


@dataclass(frozen=True)
class _Member:
    index: int
    member_id: str
    first: str
    last: str
    persona: Persona
    timezone: ZoneInfo
    #: multiplies the persona's request rate: some people are far busier than others
    activity: float


@dataclass(frozen=True)
class _Request:
    """What a request had going for it: the facts its answer depends on."""

    request_id: str
    sent_at: datetime
    #: answers carry the offset of the recipient, who is often in another timezone
    recipient_zone: ZoneInfo
    industry: Industry
    same_field: bool
    context: RequestContext
    note_kind: NoteKind | None


def horizon(config: GeneratorConfig) -> datetime:
    """The instant the stream ends: the end of the last week in the westernmost timezone."""
    end = config.start + timedelta(weeks=config.weeks)
    return max(datetime.combine(end, time(), ZoneInfo(name)) for name in TIMEZONES).astimezone(UTC)


def generate(
    config: GeneratorConfig, stats: GenerationStats | None = None
) -> Iterator[GeneratedLine]:
    """The stream's lines, lazily, in delivery order; ``stats`` is updated as they are made."""
    stats = stats if stats is not None else GenerationStats()
    noise = random.Random(f"{config.seed}/delivery")  # noqa: S311 - reproducible, not secret
    end = horizon(config)
    # (release priority, insertion order, line). An event's priority is its position; one
    # displaced by d events gets the priority of the event d places later plus a half, so it
    # comes out right after that event. A redelivery comes 1 to MAX_DISPLACEMENT events after
    # its original. Lines leave as soon as no later event can come before them.
    buffer: list[tuple[float, int, GeneratedLine]] = []
    order = itertools.count()

    def hold(priority: float, line: GeneratedLine) -> None:
        heapq.heappush(buffer, (priority, next(order), line))

    for position, event in enumerate(_all_events(config, end, stats)):
        text = _dumps(event)
        priority = float(position)
        if noise.random() < config.reorder_rate:
            priority += noise.randint(1, MAX_DISPLACEMENT) + 0.5
            stats.reordered += 1
        hold(priority, GeneratedLine(text, "event"))
        stats.events += 1
        if noise.random() < config.duplicate_rate:
            redelivery = math.floor(priority) + noise.randint(1, MAX_DISPLACEMENT) + 0.5
            hold(redelivery, GeneratedLine(text, "duplicate"))
            stats.duplicates += 1
        if noise.random() < config.malformed_rate:
            hold(position, GeneratedLine(_malformed(event, noise), "malformed"))
            stats.malformed += 1
        while buffer and buffer[0][0] <= position + 0.5:
            yield heapq.heappop(buffer)[2]
    while buffer:
        yield heapq.heappop(buffer)[2]


def _dumps(document: Any) -> str:
    return json_line(document, separators=(",", ":"))


def _all_events(
    config: GeneratorConfig, end: datetime, stats: GenerationStats
) -> Iterator[dict[str, Any]]:
    for index in range(1, config.members + 1):
        stats.members += 1
        yield from _MemberStream(config, index, end, stats).events()


class _MemberStream:
    """One member's events in time order, generated week by week."""

    def __init__(
        self, config: GeneratorConfig, index: int, end: datetime, stats: GenerationStats
    ) -> None:
        self.config = config
        self.end = end
        self.stats = stats
        self.rng = random.Random(f"{config.seed}/member/{index}")  # noqa: S311 - as above
        self.member = self._profile(index)
        self._scheduled: list[tuple[datetime, int, dict[str, Any]]] = []
        self._order = itertools.count()
        self._requests = 0

    def _profile(self, index: int) -> _Member:
        rng = self.rng
        persona = rng.choices(_PERSONAS, weights=_PERSONA_WEIGHTS)[0]
        return _Member(
            index=index,
            member_id=f"m-{index:06d}",
            first=rng.choice(_FIRST_NAMES),
            last=rng.choice(_LAST_NAMES),
            persona=persona,
            timezone=ZoneInfo(rng.choice(TIMEZONES)),
            activity=rng.lognormvariate(0, 0.5),
        )

    def events(self) -> Iterator[dict[str, Any]]:
        member, rng = self.member, self.rng
        first_day = datetime.combine(self.config.start, time(), member.timezone)
        joined = first_day - timedelta(days=rng.uniform(1, 30))
        self._schedule(joined, self._preferences(joined, first=True))
        for week in range(self.config.weeks):
            week_start = datetime.combine(
                self.config.start + timedelta(weeks=week), time(), member.timezone
            )
            week_end = datetime.combine(
                self.config.start + timedelta(weeks=week + 1), time(), member.timezone
            )
            if rng.random() < 0.03:  # a member occasionally changes their digest settings
                moment = _within_week(rng, week_start)
                self._schedule(moment, self._preferences(moment, first=False))
            for _ in range(_poisson(rng, member.persona.requests_per_week * member.activity)):
                self._request(_within_week(rng, week_start))
            while self._scheduled and self._scheduled[0][0] < week_end:
                yield heapq.heappop(self._scheduled)[2]
        while self._scheduled:
            yield heapq.heappop(self._scheduled)[2]

    def _schedule(self, moment: datetime, event: dict[str, Any]) -> None:
        if moment <= self.end:
            heapq.heappush(self._scheduled, (moment, next(self._order), event))

    def _envelope(
        self,
        model: EventModel,
        moment: datetime,
        subject: str,
        data: dict[str, Any],
        *,
        source: str,
    ) -> dict[str, Any]:
        return envelope(
            model,
            event_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            source=source,
            time=_rfc3339(moment),
            subject=subject,
            datacontenttype="application/json",
            data=data,
        )

    def _preferences(self, moment: datetime, *, first: bool) -> dict[str, Any]:
        member, rng = self.member, self.rng
        data: dict[str, Any] = {
            "member_id": member.member_id,
            "email": f"{member.first}.{member.last}.{member.index}@example.com".lower(),
            "timezone": member.timezone.key,
            "digest_day": "monday" if rng.random() < 0.8 else rng.choice(("friday", "sunday")),
            "digest_hour": 8 if first and rng.random() < 0.7 else rng.randint(6, 20),
            "digest_enabled": rng.random() < 0.95,
        }
        return self._envelope(
            PreferencesUpdated, moment, member.member_id, data, source=SETTINGS_SOURCE
        )

    def _request(self, sent_at: datetime) -> None:
        member, rng = self.member, self.rng
        persona = member.persona
        self._requests += 1
        self.stats.requests += 1
        same_field = rng.random() < 0.6
        industry = _BY_NAME[persona.industry] if same_field else rng.choice(_INDUSTRIES)
        request = _Request(
            request_id=f"req-{self._requests:05d}-{rng.getrandbits(24):06x}",
            sent_at=sent_at,
            recipient_zone=(
                member.timezone if rng.random() < 0.7 else ZoneInfo(rng.choice(TIMEZONES))
            ),
            industry=industry,
            same_field=same_field,
            context=_context(rng, persona, industry, same_field),
            note_kind=_weighted(rng, persona.notes) if rng.random() < persona.note_rate else None,
        )
        title = rng.choice(industry.titles)
        data: dict[str, Any] = {
            "request_id": request.request_id,
            "sender_id": member.member_id,
            "recipient": {
                "member_id": f"p-{rng.getrandbits(40):010x}",
                "headline": f"{title} at {rng.choice(_COMPANIES)}",
                "industry": industry.name,
                "seniority": rng.choice(_SENIORITIES),
            },
            "note": _sender_note(rng, request, title),
        }
        if rng.random() < 0.9:  # some platforms leave the context out
            data["context"] = request.context.model_dump()
        self._emit(RequestSent, sent_at, data)
        self._answer(request)

    def _answer(self, request: _Request) -> None:
        """Decide the request's fate and schedule the answer event, if any."""
        rng, persona = self.rng, self.member.persona
        ref = {"request_id": request.request_id, "sender_id": self.member.member_id}
        sent_at = request.sent_at
        roll = rng.random()
        accept = acceptance_probability(persona, request)
        if roll < accept:
            accepted_at = (sent_at + _acceptance_delay(rng)).astimezone(request.recipient_zone)
            self._emit(RequestAccepted, accepted_at, ref)
            withdrawn_at = accepted_at.astimezone(self.member.timezone) + timedelta(
                seconds=rng.uniform(1, 30)
            )
            if rng.random() < RACE_RATE and withdrawn_at <= self.end:
                self.stats.races += 1
                self._emit(RequestWithdrawn, withdrawn_at, ref)
            return
        rest = (roll - accept) / (1 - accept)  # uniform on [0, 1) again
        if rest < 0.06:
            self._emit(RequestWithdrawn, sent_at + timedelta(days=rng.uniform(7, 30)), ref)
        elif rest < 0.42:
            declined_at = (sent_at + _decline_delay(rng)).astimezone(request.recipient_zone)
            data: dict[str, Any] = dict(ref)
            if rng.random() < 0.5:
                data["note"] = _decline_note(rng, persona, request)
            elif rng.random() < 0.5:
                data["note"] = None
            self._emit(RequestDeclined, declined_at, data)
        elif rest < 0.7:
            expired_at = (sent_at + timedelta(days=rng.uniform(14, 30))).astimezone(UTC)
            self._emit(RequestExpired, expired_at, ref)
        # else: never answered; the response window makes it no_response

    def _emit(self, model: EventModel, moment: datetime, data: dict[str, Any]) -> None:
        event = self._envelope(model, moment, data["request_id"], data, source=REQUEST_SOURCE)
        self._schedule(moment, event)


def acceptance_probability(persona: Persona, request: _Request) -> float:
    """A plausible chance of acceptance: knowing each other counts most, then common ground."""
    context = request.context
    chance: float = 0.2
    chance += {"met_in_person": 0.45, "met_virtually": 0.35, "messaged": 0.2}.get(
        context.prior_interaction, 0.0
    )
    chance += min(0.2, 0.025 * context.mutual_connections)
    chance += 0.1 if context.shared_groups else 0.0
    chance += 0.08 if context.shared_employers or context.shared_schools else 0.0
    chance += 0.04 if context.shared_credentials else 0.0
    chance += {"personal": 0.05, "generic": -0.02, "pitch": -0.12, "recruiting": -0.05}.get(
        request.note_kind or "", 0.0
    )
    chance += 0.05 if request.same_field else -0.05
    if persona.role == "collector":
        chance -= 0.1
    return min(0.92, max(0.02, chance))


#: How often sender and recipient already know each other (a collector rarely does).
_PRIOR_INTERACTION: tuple[tuple[PriorInteraction, float], ...] = (
    ("none", 70),
    ("messaged", 12),
    ("met_virtually", 10),
    ("met_in_person", 8),
)
_COLLECTOR_PRIOR_INTERACTION: tuple[tuple[PriorInteraction, float], ...] = (
    ("none", 97),
    ("messaged", 3),
)


def _context(
    rng: random.Random, persona: Persona, industry: Industry, same_field: bool
) -> RequestContext:
    collector = persona.role == "collector"
    prior = _weighted(rng, _COLLECTOR_PRIOR_INTERACTION if collector else _PRIOR_INTERACTION)
    mean_mutual = 0.5 if collector else (6.0 if same_field else 1.5)
    return RequestContext(
        mutual_connections=int(rng.expovariate(1 / mean_mutual)),
        shared_groups=rng.sample(industry.groups, 1) if same_field and rng.random() < 0.3 else [],
        shared_credentials=(
            rng.sample(industry.credentials, 1) if same_field and rng.random() < 0.25 else []
        ),
        shared_employers=[rng.choice(_COMPANIES)] if rng.random() < 0.08 else [],
        shared_schools=[rng.choice(_SCHOOLS)] if rng.random() < 0.08 else [],
        prior_interaction=prior,
    )


def _sender_note(rng: random.Random, request: _Request, title: str) -> str | None:
    if request.note_kind is None:
        return None
    templates = _SENDER_NOTES[request.note_kind]
    groups = request.context.shared_groups
    if request.note_kind == "personal" and not groups:
        templates = templates[1:]  # the first one needs a shared group
    industry = request.industry
    return rng.choice(templates).format(
        group=groups[0] if groups else "",
        topic=rng.choice(industry.topics),
        industry=industry.name,
        title=title,
    )


def _decline_note(rng: random.Random, persona: Persona, request: _Request) -> str:
    """The recipient's words: the reason they give follows what the request looked like."""
    context, note_kind = request.context, request.note_kind
    strangers = context.prior_interaction == "none"
    weights = {
        ReasonCode.MET_ONLY: 3.0 if strangers else 0.2,
        ReasonCode.DOESNT_RECOGNIZE: 2.0 if strangers and context.mutual_connections < 3 else 0.3,
        ReasonCode.GENERIC_NOTE: 3.0 if note_kind == "generic" else 0.0,
        ReasonCode.SALES_PITCH: 5.0
        if note_kind == "pitch"
        else (1.0 if persona.role == "salesperson" else 0),
        ReasonCode.RECRUITER: 5.0 if persona.role == "recruiter" else 0.0,
        ReasonCode.OFF_FIELD: 0.3 if request.same_field else 2.5,
        ReasonCode.WEAK_PROFILE: 2.0 if persona.role in ("student", "collector") else 0.4,
        ReasonCode.COLLECTOR: 4.0 if persona.role == "collector" else 0.3,
        ReasonCode.REPUTATION_RISK: 1.0,
        ReasonCode.UNKNOWN: 1.5,
    }
    reason = _weighted(rng, tuple(weights.items()))
    phrase = rng.choice(DECLINE_PHRASES[reason]).format(industry=request.industry.name)
    return rng.choice(_DECLINE_OPENINGS) + phrase + rng.choice(_DECLINE_CLOSINGS)


def _acceptance_delay(rng: random.Random) -> timedelta:
    """About 40% of acceptances within a day, 70% within a week, 80% within 15 days."""
    roll = rng.random()
    if roll < 0.4:
        return timedelta(hours=rng.uniform(0.1, 24))
    if roll < 0.7:
        return timedelta(days=rng.uniform(1, 7))
    if roll < 0.8:
        return timedelta(days=rng.uniform(7, 15))
    return timedelta(days=rng.uniform(15, 45))


def _decline_delay(rng: random.Random) -> timedelta:
    roll = rng.random()
    if roll < 0.5:
        return timedelta(hours=rng.uniform(0.1, 24))
    if roll < 0.85:
        return timedelta(days=rng.uniform(1, 7))
    return timedelta(days=rng.uniform(7, 21))


#: Monday to Sunday: people send requests on working days
_WEEKDAY_WEIGHTS = (5, 6, 6, 6, 5, 1.5, 1)


def _within_week(rng: random.Random, week_start: datetime) -> datetime:
    """A moment of the week in the member's local time: mostly weekdays, mostly working hours."""
    days = [week_start.date() + timedelta(days=offset) for offset in range(7)]
    day = rng.choices(days, weights=[_WEEKDAY_WEIGHTS[day.weekday()] for day in days])[0]
    hour = rng.choices(range(7, 23), weights=(1, 3, 5, 5, 5, 4, 4, 5, 5, 4, 3, 2, 2, 2, 1, 1))[0]
    return datetime.combine(
        day,
        time(hour, rng.randrange(60), rng.randrange(60)),
        week_start.tzinfo,
    )


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is UTC:  # the platform's own events: UTC with milliseconds
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds")


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; fine for the small weekly means used here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


_T = TypeVar("_T")


def _weighted(rng: random.Random, choices: tuple[tuple[_T, float], ...]) -> _T:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights=weights)[0]


def _without(document: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name != key}


def _truncated(text: str, rng: random.Random) -> str:
    """A proper prefix of a JSON object is never valid JSON: its closing brace is missing."""
    return text[: rng.randint(1, len(text) - 1)]


#: Ways a buggy producer breaks an event; each makes ``parse_event`` reject the line.
_MALFORMATIONS: tuple[Callable[[dict[str, Any], random.Random], str], ...] = (
    lambda event, rng: _truncated(_dumps(event), rng),
    lambda event, _rng: _dumps({**event, "specversion": "0.3"}),
    lambda event, _rng: _dumps({**event, "type": "rapport.connection_request.viewed"}),
    lambda event, _rng: _dumps({**event, "time": event["time"][:19]}),  # no offset
    lambda event, _rng: _dumps({**event, "time": 1_790_000_000}),  # epoch seconds
    lambda event, _rng: _dumps(_without(event, "id")),
    lambda event, _rng: _dumps({**event, "id": event["id"] * 4}),  # 144 characters
    lambda event, _rng: _dumps([event]),  # batch mode is not accepted
)


def _malformed(event: dict[str, Any], rng: random.Random) -> str:
    return rng.choice(_MALFORMATIONS)(event, rng)
