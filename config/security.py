"""Security headers the project adds to Django's own (docs/security.md).

Django's SecurityMiddleware already sends X-Content-Type-Options, Referrer-Policy,
Cross-Origin-Opener-Policy (and HSTS in production) and XFrameOptionsMiddleware
X-Frame-Options; django-csp's middleware sends the Content-Security-Policy built here.
"""

from urllib.parse import urlsplit

from csp.constants import NONE, SELF

# Browser features no page of the product uses, all refused (the map's nearby search
# takes a typed or clicked position, never the device's).
DEFAULT_PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "usb",
        "xr-spatial-track",
    )
)


def content_security_policy(*, map_tile_url=""):
    """django-csp's CONTENT_SECURITY_POLICY: our own origin only, no inline script or style
    (the templates have none: behaviour in static/js, styles in static/css, data in
    data-* attributes or <script type="application/json">). Images also from data: URLs
    (Leaflet's and Swagger UI's icons) and from the map's tile server when one is set."""
    img_src = [SELF, "data:"]
    parts = urlsplit(map_tile_url.replace("{s}", "*"))  # {s}: Leaflet's subdomains
    if parts.scheme and parts.netloc:  # a relative tile URL is our own origin
        img_src.append(f"{parts.scheme}://{parts.netloc}")
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF],
            "style-src": [SELF],
            "img-src": img_src,
            "font-src": [SELF],
            "connect-src": [SELF],
            "object-src": [NONE],
            "base-uri": [SELF],
            "form-action": [SELF],
            "frame-ancestors": [NONE],
        }
    }


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY (Django has no setting for this header)."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.value = settings.PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.value:
            response.headers.setdefault("Permissions-Policy", self.value)
        return response
