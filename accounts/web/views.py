"""Sign-in, sign-out, password change and each role's home page."""

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from accounts.web.nav import pages_for

# The page a role lands on after sign-in, when it may open it; otherwise the
# first page of its navigation.
HOME_PAGE = "dashboard-overview"


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
