from django.urls import path

from dashboard.api import views

urlpatterns = [
    path("ping", views.ping, name="ping"),
    path("dashboard/health", views.health, name="health"),
]
