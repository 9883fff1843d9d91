"""URL root: each app mounts its own api/urls.py."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView

from accounts.api.views import documented_token_views
from accounts.web.views import admin_login
from config.swagger import SwaggerUIView
from dashboard.prometheus import metrics_view

token_obtain, token_refresh = documented_token_views()

urlpatterns = [
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("api/auth/token/", token_obtain, name="token_obtain_pair"),
    path("api/auth/token/refresh/", token_refresh, name="token_refresh"),
    path("api/auth/", include("accounts.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerUIView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("dashboard.api.urls")),
    path("api/dashboard/", include("agents.api.urls")),
    path("api/dashboard/", include("opsactions.api.urls")),
    path("api/dashboard/", include("alerts.api.urls")),
    path("api/dashboard/", include("sira.api.urls")),
    # /metrics: django_prometheus's, minus the gauges of processes that died.
    path("metrics", metrics_view, name="prometheus-django-metrics"),
    # Server-rendered pages: sign-in and home, then each app's pages.
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("accounts.web.urls")),
    path("", include("dashboard.urls")),
    path("", include("agents.urls")),
    path("", include("alerts.urls")),
    path("", include("opsactions.urls")),
    path("", include("sira.urls")),
]

handler400 = "common.views.bad_request"
handler403 = "common.views.permission_denied"
handler404 = "common.views.not_found"
handler500 = "common.views.error"
