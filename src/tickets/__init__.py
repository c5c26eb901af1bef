"""Event-sourced customer-support ticketing backend."""
