"""What the digest says about each reason: a label, one change to try, a question to reflect on.

Kept as data in one place so wording can be reviewed and changed without touching the logic.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapport.codes import ReasonCode


@dataclass(frozen=True)
class Advice:
    #: Reads after "Possibly because …" with its first letter lowered, so a guess can say so.
    label: str
    suggestion: str
    reflection: str
    #: How the reason was worked out when no note stated it, in plain words (derived reasons).
    inferred: str | None = None

    @property
    def as_guess(self) -> str:
        return f"Possibly because {self.label[0].lower()}{self.label[1:]}"


ADVICE: dict[ReasonCode, Advice] = {
    ReasonCode.MET_ONLY: Advice(
        "They connect only with people they have met",
        "Meet first — at a chapter event or in a short video call — then send the request.",
        "Who would you like to meet this week before you ask to connect?",
    ),
    ReasonCode.DOESNT_RECOGNIZE: Advice(
        "They did not recognise you",
        "Open the note with where your paths crossed: the event, group or person you share.",
        "What would help a stranger place you in a single sentence?",
    ),
    ReasonCode.NO_NOTE: Advice(
        "The request had no personal note",
        "For the requests that matter most, add two lines on why you want to connect.",
        "Which of next week's requests deserve a note of their own?",
        "Worked out from the request: it went without a note, and they did not say why.",
    ),
    ReasonCode.GENERIC_NOTE: Advice(
        "The note read as generic",
        "Mention one specific thing about their work that made you reach out.",
        "What did you learn about each person before you wrote to them?",
    ),
    ReasonCode.SALES_PITCH: Advice(
        "It read as a sales pitch",
        "Leave any offer out of the request; build the relationship first.",
        "What would a first conversation look like if you had nothing to sell?",
    ),
    ReasonCode.RECRUITER: Advice(
        "They avoid recruiting or job-seeking requests",
        "Ask for advice or a perspective rather than a role, and say why them.",
        "What do you want to learn from this person, beyond an opening?",
    ),
    ReasonCode.OFF_FIELD: Advice(
        "It was outside their field or focus",
        "Focus next week's requests on people whose work overlaps with yours.",
        "Whose work is closest to the problems you care about?",
    ),
    ReasonCode.WEAK_PROFILE: Advice(
        "Your profile did not give them enough to trust",
        "Complete your profile — photo, headline, a recent role — before sending more requests.",
        "What would someone conclude about you from your profile alone?",
    ),
    ReasonCode.NO_COMMON_GROUND: Advice(
        "No common ground showed",
        "Start with people you share a group, credential, employer or school with.",
        "Where do you already belong that others you admire also belong?",
        "Worked out from the request: you had no mutual connections, groups, credentials,"
        " employers or schools in common, and no earlier contact.",
    ),
    ReasonCode.COLLECTOR: Advice(
        "It looked like collecting connections",
        "Send fewer, more deliberate requests, each with a reason.",
        "Which connections from this month would you actually call?",
    ),
    ReasonCode.REPUTATION_RISK: Advice(
        "They cannot vouch for your work yet",
        "Let them see your work first: comment on their posts or share something useful.",
        "How could this person see your work before you ask to connect?",
    ),
    ReasonCode.NO_DECISION: Advice(
        "They have not decided (inactive, busy or at their limit)",
        "Favour people who are active: look for a recent post or comment before you send.",
        "Which open requests are still worth a gentle follow-up?",
        "Worked out from the request: no answer within the response window, although it had"
        " a note and common ground.",
    ),
    ReasonCode.UNKNOWN: Advice(
        "No reason could be identified",
        "Try one change next week — a note, or meeting first — and compare.",
        "What will you try differently in next week's requests?",
    ),
}

#: Said under the requests still waiting, whatever the week's main reason (kept apart from every
#: suggestion above, so the digest never gives the same advice twice).
WAITING_ADVICE = "If one still matters to you, send a short follow-up; if not, withdraw it."

DEFAULT_ADVICE = Advice(
    "",
    "Keep going: send a few well-chosen requests with a short personal note.",
    "Which three people would you most like to be connected with a month from now?",
)
