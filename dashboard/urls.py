"""Server-rendered dashboard pages."""

from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.index, name="dashboard-index"),
    path("overview", views.overview_page, name="dashboard-overview"),
]
