"""Server-rendered pages of the dashboard app, one module per page."""
