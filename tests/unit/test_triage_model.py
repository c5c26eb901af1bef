"""The triage agent's classifier on a synthetic history with a known ground truth (deterministic: a
fixed seed; the full measurement is `python -m benchmarks.triage_accuracy`)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from benchmarks.triage_history import generate
from tickets.application.triage_model import MIN_LABELLED, Example, fit, guess

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _examples(count: int, seed: int) -> list[Example]:
    return [
        Example(t.subject, t.description, t.category, t.priority, t.tags) for t in generate(count, seed=seed)
    ]


def test_trained_on_the_past_it_predicts_the_future_well_above_chance() -> None:
    history = generate(400, seed=11)
    train, test = history[:300], history[300:]
    model = fit([Example(t.subject, t.description, t.category, t.priority, t.tags) for t in train], NOW)
    guesses = [guess(model, t.subject, t.description) for t in test]
    category = sum(
        g.category is not None and g.category.value == t.category for g, t in zip(guesses, test, strict=True)
    )
    priority = sum(
        g.priority is not None and g.priority.value == t.priority for g, t in zip(guesses, test, strict=True)
    )
    # Six categories (the largest is a quarter of the tickets), 8% of labels wrong on purpose.
    assert category / len(test) > 0.75
    assert priority / len(test) > 0.6
    # Tags: the product each ticket names (one in five by chance).
    assert sum(g.tag_ids == t.tags for g, t in zip(guesses, test, strict=True)) / len(test) > 0.7


def test_too_little_history_makes_no_model_and_says_why() -> None:
    model = fit(_examples(MIN_LABELLED - 1, seed=1), NOW)
    assert not model.usable
    assert model.reason is not None and f"{MIN_LABELLED - 1} finished ticket(s)" in model.reason
    assert guess(model, "Printer crash", "It crashes").category is None
    one_category = [Example("s", "d", "bug", "high")] * MIN_LABELLED
    assert "in 1 category" in str(fit(one_category, NOW).reason)


def test_a_single_priority_gives_no_priority_guess() -> None:
    examples = [Example(e.subject, e.description, e.category, "medium", e.tag_ids) for e in _examples(60, 2)]
    model = fit(examples, NOW)
    found = guess(model, "Invoice charged twice", "refund please")
    assert found.category is not None and found.priority is None


def test_the_server_and_the_cli_start_without_scikit_learn() -> None:
    probe = (
        "import sys, tickets.cli.main, tickets.api.app, tickets.bootstrap;"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy', 'joblib')];"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)
