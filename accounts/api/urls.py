from django.urls import path

from accounts.api import views

urlpatterns = [
    path("me/", views.me, name="auth-me"),
    path("logout/", views.logout, name="auth-logout"),
]
