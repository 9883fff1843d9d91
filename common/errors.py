"""Domain errors raised by services; the API maps them to HTTP with a stable code."""


class DomainError(Exception):
    """A business rule refused the operation; `code` is stable and machine-readable."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, detail, *, code=None, errors=None):
        super().__init__(detail)
        self.detail = str(detail)
        self.code = code or self.default_code
        self.errors = errors


class ValidationFailed(DomainError):
    status_code = 400
    default_code = "invalid"


class NotAllowed(DomainError):
    status_code = 403
    default_code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"
