"""Project-wide plumbing below every app: domain errors and the API error shape."""
