"""Mounted under api/dashboard/ by config/urls.py: alerts, alerts/{id}/..., alerts/rules,
alerts/silences, alerts/contact-points (no trailing slash, like the contract)."""

from rest_framework.routers import SimpleRouter

from alerts.api.views import AlertViewSet, ContactPointViewSet, RuleViewSet, SilenceViewSet

router = SimpleRouter(trailing_slash="")
router.register("alerts/rules", RuleViewSet, basename="alert-rule")
router.register("alerts/silences", SilenceViewSet, basename="alert-silence")
router.register("alerts/contact-points", ContactPointViewSet, basename="alert-contact-point")
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = router.urls
