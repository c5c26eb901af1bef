"""The read side: projections of the ticket event log into the list, stats and SLA-breach views.

One module per read model (`ticket_list`, `ticket_stats`, `sla_breaches`), the shared
fold (`summary`), batches that fold once for every copy (`base`), where copies live
(`views`), and running them (`runner`, which also schedules the application's SLA breach
recorder). See docs/projections.md.
"""
