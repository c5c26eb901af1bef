"""The `pfai` command: server, operator (admin) and client commands."""
