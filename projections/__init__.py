"""The read side: projections of the ticket event log into the list, stats and SLA-breach views.

One module per read model (`ticket_list`, `ticket_stats`, `sla_breaches`), the shared
fold (`summary`), batches (`base`), where copies live (`views`), and running them
(`runner`; `breaches` records SLA breaches as events). See docs/projections.md.
"""
