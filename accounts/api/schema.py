"""Input limits stated in the OpenAPI schema, from the same rules the server applies.

`SCOPE_PATTERN` is accounts.scope.Scope.parse's syntax (platform, merchant:ID,
agent:ID, bank:ID, region:CC; an ID is 1-64 of letters, digits, _ . -). An empty
or absent scope means the caller's default scope, so query parameters allow "".
"""

_ID = r"[A-Za-z0-9_.\-]{1,64}"
_SCOPE = rf"platform|(merchant|agent|bank):{_ID}|region:[A-Z]{{2}}"

SCOPE_PATTERN = rf"^({_SCOPE})$"
OPTIONAL_SCOPE_PATTERN = rf"^({_SCOPE})?$"
SCOPE_HELP = (
    "platform, merchant:ID, agent:ID, bank:ID or region:CC (ID: 1-64 letters, digits, _ . -; "
    "CC: ISO country code). Empty or absent: your own scope (platform for staff)."
)
