from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from accounts.scope import is_platform_staff, user_scope

_me = inline_serializer(
    "Me",
    {
        "username": serializers.CharField(),
        "role": serializers.CharField(),
        "scope": serializers.CharField(),
        "platform_staff": serializers.BooleanField(),
        "permissions": serializers.ListField(child=serializers.CharField()),
    },
)


@extend_schema(summary="Who am I: role, tenant scope and permissions", responses={200: _me})
@api_view(["GET"])
def me(request):
    user = request.user
    return Response(
        {
            "username": user.username,
            "role": user.role,
            "scope": str(user_scope(user)),
            "platform_staff": is_platform_staff(user),
            "permissions": sorted(
                p.split(".", 1)[1] for p in user.get_all_permissions() if p.startswith("accounts.")
            ),
        }
    )


_error = inline_serializer(
    "AuthError",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "errors": serializers.DictField(required=False),
    },
)


def documented_token_views():
    """simplejwt's login and refresh views with their 400/401 answers in the schema."""
    from drf_spectacular.utils import OpenApiResponse
    from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

    errors = {
        400: OpenApiResponse(_error, description="missing or malformed fields"),
        401: OpenApiResponse(_error, description="bad credentials or token"),
    }
    login = extend_schema(
        summary="Log in: a JWT access and refresh token pair",
        responses={200: TokenObtainPairView.serializer_class, **errors},
    )(TokenObtainPairView)
    refresh = extend_schema(
        summary="Refresh: a new access token",
        responses={200: TokenRefreshView.serializer_class, **errors},
    )(TokenRefreshView)
    return login.as_view(), refresh.as_view()
