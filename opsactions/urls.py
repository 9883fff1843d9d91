"""Server-rendered ops console pages (mounted at the site root by config/urls.py)."""

urlpatterns = []
