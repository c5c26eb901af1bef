"""The triage agent's text classifier: TF-IDF and logistic regression (scikit-learn), per org.

Trained on the subjects and descriptions of an org's finished tickets and their final category
and priority; its tag suggestions are the tags of the most similar past tickets. scikit-learn is
imported here only inside `fit`, so nothing that merely imports this module (`pfai`, the server)
loads it; a fitted model calls scikit-learn's objects, which bring their own modules when unpickled.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Fewer labelled tickets than this (or a single category among them) teaches nothing worth acting on.
MIN_LABELLED = 30
# Tag suggestions: from the most similar past tickets, a tag most of them (by similarity) carry.
NEIGHBOURS = 7
TAG_SHARE = 0.5


@dataclass(frozen=True)
class Example:
    """A past ticket: its text and what it ended up as."""

    subject: str
    description: str
    category: str
    priority: str
    tag_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Guess:
    """A predicted value and the model's probability for it."""

    value: str
    confidence: float


@dataclass(frozen=True)
class Guesses:
    category: Guess | None
    priority: Guess | None
    # Suggested tag ids, most likely first.
    tag_ids: tuple[str, ...] = ()


@dataclass
class TriageModel:
    """A fitted model, or why there is none (`reason`, with too little history)."""

    trained_at: datetime
    examples: int
    # The org's ticket counter when trained: the follower retrains after enough new tickets.
    last_ticket_number: int = 0
    reason: str | None = None
    category: Any = None
    priority: Any = None
    # For tag suggestions: the fitted TF-IDF rows of the examples and their tags.
    vectorizer: Any = None
    rows: Any = None
    example_tags: list[tuple[str, ...]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.reason is None


def text_of(subject: str, description: str) -> str:
    """What the model reads: the subject (twice: it is the densest summary) and the description."""
    return f"{subject}\n{subject}\n{description}"


def fit(examples: Sequence[Example], now: datetime, last_ticket_number: int = 0) -> TriageModel:
    """A model trained on `examples`; with too little history, one that says so (`reason`)."""
    categories = {e.category for e in examples}
    if len(examples) < MIN_LABELLED or len(categories) < 2:
        reason = (
            f"too little history to learn from: {len(examples)} finished ticket(s) in "
            f"{len(categories)} categor{'y' if len(categories) == 1 else 'ies'} "
            f"(needs at least {MIN_LABELLED}, in at least 2 categories)"
        )
        return TriageModel(now, len(examples), last_ticket_number, reason=reason)

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = [text_of(e.subject, e.description) for e in examples]
    noted: list[str] = []

    def classifier(labels: list[str]) -> Any:
        if len(set(labels)) < 2:
            return None
        pipeline = make_pipeline(
            TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1),
            LogisticRegression(C=10.0, max_iter=2000),
        )
        # A fit that does not converge still predicts; it is recorded on the model instead of
        # escaping as a warning (tests run with warnings as errors; operators read the report).
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            pipeline.fit(texts, labels)
        noted.extend(str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning))
        return pipeline

    category = classifier([e.category for e in examples])
    priority = classifier([e.priority for e in examples])
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    rows = vectorizer.fit_transform(texts)
    return TriageModel(
        trained_at=now,
        examples=len(examples),
        last_ticket_number=last_ticket_number,
        category=category,
        priority=priority,
        vectorizer=vectorizer,
        rows=rows,
        example_tags=[e.tag_ids for e in examples],
        warnings=noted,
    )


def _best(pipeline: Any, text: str) -> Guess | None:
    if pipeline is None:
        return None
    probabilities = pipeline.predict_proba([text])[0]
    best = int(probabilities.argmax())
    return Guess(str(pipeline.classes_[best]), float(probabilities[best]))


def guess(model: TriageModel, subject: str, description: str) -> Guesses:
    """The model's category, priority and tags for a ticket."""
    if not model.usable:
        return Guesses(None, None)
    text = text_of(subject, description)
    return Guesses(_best(model.category, text), _best(model.priority, text), _tags(model, text))


def _tags(model: TriageModel, text: str) -> tuple[str, ...]:
    if model.vectorizer is None or not any(model.example_tags):
        return ()
    similarity = (model.rows @ model.vectorizer.transform([text]).T).toarray().ravel()
    nearest = similarity.argsort()[::-1][:NEIGHBOURS]
    total = float(similarity[nearest].sum())
    if total <= 0:
        return ()
    weight: defaultdict[str, float] = defaultdict(float)
    for index in nearest:
        for tag_id in model.example_tags[int(index)]:
            weight[tag_id] += float(similarity[index])
    return tuple(t for t, w in sorted(weight.items(), key=lambda kv: -kv[1]) if w / total >= TAG_SHARE)


__all__ = ["MIN_LABELLED", "Example", "Guess", "Guesses", "TriageModel", "fit", "guess", "text_of"]
