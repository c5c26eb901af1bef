"""A synthetic support history with a known ground truth, for measuring the triage agent.

Each ticket's category and priority are drawn first; its subject and description are then written
from that category's and that priority's words, among words every category shares, with noise:
a word of another category now and then, tickets that name no telling word at all, and a share
of labels that a hurried agent got wrong (which no classifier can learn). Same seed, same history.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

CATEGORY_WORDS: dict[str, list[str]] = {
    "bug": ["crash", "error", "broken", "exception", "fails", "bug", "stack trace", "freezes", "glitch"],
    "billing": ["invoice", "charged twice", "refund", "payment", "credit card", "subscription", "receipt"],
    "account": ["login", "password", "sign in", "two-factor", "locked out", "username", "reset link"],
    "feature": ["feature request", "would be nice", "suggestion", "add support", "roadmap", "wish"],
    "technical": ["api", "integration", "webhook", "sso", "configure", "dns", "timeout", "install"],
    "general": ["question", "opening hours", "information", "contact", "thanks", "brochure"],
}
PRIORITY_WORDS: dict[str, list[str]] = {
    "urgent": ["outage", "production is down", "asap", "all users", "immediately", "emergency"],
    "high": ["blocked", "cannot work", "deadline today", "important client", "stuck"],
    "medium": [],
    "low": ["whenever you can", "minor", "cosmetic", "no rush", "small thing"],
}
PRODUCTS = ["printer", "mobile app", "dashboard", "reports", "scanner"]
SHARED = [
    "hello",
    "team",
    "please",
    "help",
    "we",
    "have",
    "a",
    "problem",
    "with",
    "our",
    "account",
    "since",
    "yesterday",
    "morning",
    "the",
    "colleague",
    "tried",
    "again",
    "and",
    "it",
    "still",
    "happens",
    "could",
    "you",
    "look",
    "into",
    "this",
    "thank",
    "you",
    "kind",
    "regards",
]
CATEGORY_WEIGHTS = {"bug": 5, "billing": 3, "account": 3, "feature": 2, "technical": 3, "general": 2}
PRIORITY_WEIGHTS = {"urgent": 1, "high": 3, "medium": 5, "low": 2}


@dataclass(frozen=True)
class SyntheticTicket:
    subject: str
    description: str
    category: str
    priority: str
    tags: tuple[str, ...]
    created_at: datetime


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate(
    count: int,
    seed: int = 7,
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC),
    days: int = 120,
    label_noise: float = 0.08,
) -> list[SyntheticTicket]:
    """`count` tickets spread over `days` from `start`, oldest first."""
    rng = random.Random(seed)
    tickets = []
    for i in range(count):
        category, priority = _pick(rng, CATEGORY_WEIGHTS), _pick(rng, PRIORITY_WEIGHTS)
        product = rng.choice(PRODUCTS)
        words = rng.sample(SHARED, 8)
        telling = rng.random() > 0.07  # a few tickets say nothing that tells their category
        if telling:
            words += rng.sample(CATEGORY_WORDS[category], 2)
        if rng.random() < 0.25:  # a word of another category
            other = rng.choice([c for c in CATEGORY_WORDS if c != category])
            words.append(rng.choice(CATEGORY_WORDS[other]))
        if PRIORITY_WORDS[priority] and rng.random() < 0.85:
            words.append(rng.choice(PRIORITY_WORDS[priority]))
        words.append(product)
        rng.shuffle(words)
        subject_words = [rng.choice(CATEGORY_WORDS[category]) if telling else rng.choice(SHARED), product]
        subject = " ".join(subject_words).capitalize()
        # A share of the history is labelled wrongly: the ceiling no model can pass.
        if rng.random() < label_noise:
            category = rng.choice(list(CATEGORY_WORDS))
        if rng.random() < label_noise:
            priority = rng.choice(list(PRIORITY_WORDS))
        created_at = start + timedelta(days=days * i / max(count, 1), minutes=rng.randrange(60))
        tickets.append(
            SyntheticTicket(subject, " ".join(words) + ".", category, priority, (product,), created_at)
        )
    return tickets


__all__ = ["CATEGORY_WORDS", "PRIORITY_WORDS", "PRODUCTS", "SyntheticTicket", "generate"]
