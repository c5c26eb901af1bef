"""The domain: aggregates, their events and rules. Imports no web, database or CLI code."""
