"""Mounted under api/dashboard/ by config/urls.py."""

from django.urls import path

from agents.api.views import AgentDetailView, AgentsClustersView, AgentsNearbyView

urlpatterns = [
    path("agents/nearby", AgentsNearbyView.as_view(), name="agents-nearby"),
    path("agents/clusters", AgentsClustersView.as_view(), name="agents-clusters"),
    path("agents/<str:agent_id>", AgentDetailView.as_view(), name="agents-detail"),
]
