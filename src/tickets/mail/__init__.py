"""The email channel's adapters."""
