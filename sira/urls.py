"""SIRA pages (mounted at the site root by config/urls.py)."""

from django.urls import path

from sira.web import views

urlpatterns = [
    path("sira", views.feed, name="sira-feed"),
    path("sira/<int:rec_id>", views.detail, name="sira-detail"),
    path("sira/<int:rec_id>/apply", views.apply, name="sira-apply"),
    path("sira/<int:rec_id>/reject", views.reject, name="sira-reject"),
]
