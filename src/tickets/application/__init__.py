"""Application services: load aggregates, call the domain, save, return the log position."""
