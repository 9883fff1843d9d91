"""The Swagger UI page (/api/docs/) under the site's Content-Security-Policy."""

from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerUIView(SpectacularSwaggerSplitView):
    """Swagger UI under the site's policy, with nothing relaxed: its start-up script is
    fetched from this same URL (?script) rather than inlined, and its page style comes from
    static/css/swagger.css (templates/drf_spectacular/swagger_ui.html). (This split view
    also keeps the site's Cross-Origin-Opener-Policy, which drf-spectacular's other Swagger
    view relaxes for OAuth2 pop-ups the API does not use.)"""
