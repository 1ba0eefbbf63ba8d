"""Why a request was declined or went unanswered: explainable, rule-based reason classification."""

from rapport.reasons.classifier import classify
from rapport.reasons.model import Classification, Evidence

__all__ = ["Classification", "Evidence", "classify"]
