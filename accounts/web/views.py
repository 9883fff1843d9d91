"""Sign-in, sign-out, password change and each role's home page."""

from urllib.parse import urlencode

from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.web.nav import pages_for

# The page a role lands on after sign-in, when it may open it; otherwise the
# first page of its navigation.
HOME_PAGE = "dashboard-home"


class LoginView(auth_views.LoginView):
    """The product's sign-in for every role (merchants and agents included); failed
    attempts are counted and locked out by django-axes (settings.AXES_*)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"


def home(request):
    """`/`: the signed-in user's home page; the sign-in page for anyone else."""
    if not request.user.is_authenticated:
        return redirect("login")
    pages = pages_for(request.user)
    names = [p.url_name for p in pages]
    if HOME_PAGE in names:
        return redirect(HOME_PAGE)
    if names:
        return redirect(names[0])
    return render(request, "registration/no_access.html", status=403)


def admin_login(request):
    """The admin's own login page is never shown: staff sign in on the product's page (one
    lockout, one form); a signed-in merchant or agent gets a 403, not the admin's form."""
    target = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("admin:index")
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': target})}")
    if request.user.is_active and request.user.is_staff:
        return redirect(target)
    raise PermissionDenied
