"""Server-rendered agent pages (mounted at the site root by config/urls.py)."""

urlpatterns = []
