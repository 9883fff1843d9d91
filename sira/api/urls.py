"""Mounted under api/dashboard/ by config/urls.py: sira/recommendations, sira/models."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from sira.api.views import AcceptanceView, RecommendationViewSet

router = SimpleRouter(trailing_slash="")
router.register("sira/recommendations", RecommendationViewSet, basename="sira-recommendation")

urlpatterns = [
    path("sira/models", AcceptanceView.as_view(), name="sira-models"),
    *router.urls,
]
