"""The read side: projections of the ticket event log into the list, stats and SLA-breach views.

See docs/projections.md (its "Code" section maps the modules).
"""
