"""Mounted under api/dashboard/ by config/urls.py: ops/actions, ops/actions/{id}/..."""

from rest_framework.routers import SimpleRouter

from opsactions.api.views import OpsActionViewSet

# No trailing slash, like every other endpoint of the project (contract paths).
router = SimpleRouter(trailing_slash="")
router.register("ops/actions", OpsActionViewSet, basename="ops-action")

urlpatterns = router.urls
