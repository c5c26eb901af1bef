"""Domain errors: raised before an event is triggered, mapped to HTTP once, at the edge."""


class DomainError(Exception):
    """Base class of every rule violation the domain reports."""


class NotFoundError(DomainError):
    """The thing does not exist, or is not visible to the caller."""


class ConflictError(DomainError):
    """The change clashes with the current state (duplicate, closed ticket, ...)."""


class TicketClosedError(ConflictError):
    """A closed ticket is final: changes go to a follow-up ticket."""


class InvalidTransitionError(ConflictError):
    """The requested status transition is not allowed."""


class InvalidValueError(DomainError):
    """A value is well-formed but not acceptable (unknown member, unknown tag, ...)."""


class ForbiddenError(DomainError):
    """The caller may not do this (not the author, wrong role)."""


class TooLargeError(DomainError):
    """More files, or larger ones, than the service accepts."""


class UnsupportedFileTypeError(DomainError):
    """A file of a kind the service refuses to keep: programs, scripts, HTML."""
