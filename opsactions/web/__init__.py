"""Server-rendered ops console (session sign-in): inbox, request form with its live risk
preview, and the detail page with the transitions this user may use. Every page goes through
the same selectors and services as the API and the admin."""
