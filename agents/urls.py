"""Server-rendered agent pages (mounted at the site root by config/urls.py)."""

from django.urls import path

from agents.web import floats, maps

urlpatterns = [
    path("map", maps.map_page, name="agents-map"),
    path("float", floats.float_page, name="agents-float"),
]
