"""Adapters to the outside world: settings, persistence wiring, clock."""
