from django.shortcuts import render


def index(request):
    """Landing page: links to the API docs, the admin ops console and the health."""
    return render(request, "dashboard/index.html")
