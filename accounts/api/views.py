from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken

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


@extend_schema(
    summary="Who am I: role, tenant scope and permissions",
    responses={200: _me, 401: OpenApiResponse(description="no or bad token")},
)
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


class _RefreshSerializer(TokenRefreshSerializer):
    """simplejwt's refresh (rotating: a new refresh token each time, the used one
    blacklisted), with a deleted user's token refused as 401 instead of a 500."""

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist:
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from None


class _RefreshTokenOnly(JWTAuthentication):
    """Logout authenticates by the refresh token in the body alone (an expired access token
    must not stop a logout); a bad one is still a 401 with a WWW-Authenticate header."""

    def authenticate(self, request):
        return None


_logout_in = inline_serializer("LogoutRequest", {"refresh": serializers.CharField()})


@extend_schema(
    summary="Log out: the refresh token is revoked (blacklisted) and can no longer be used",
    description="Needs only the refresh token (possessing it is the proof); the access "
    "token of the pair stays valid until it expires (JWT_ACCESS_MINUTES).",
    request=_logout_in,
    responses={
        204: OpenApiResponse(description="revoked"),
        400: OpenApiResponse(_error, description="no refresh token given"),
        401: OpenApiResponse(_error, description="not a valid, unrevoked refresh token"),
    },
    auth=[],
)
@api_view(["POST"])
@authentication_classes([_RefreshTokenOnly])
@permission_classes([AllowAny])
def logout(request):
    body = request.data if isinstance(request.data, dict) else {}
    refresh = body.get("refresh")
    if not isinstance(refresh, str) or not refresh:
        raise ValidationError({"refresh": ["This field is required."]})
    try:
        token = RefreshToken(refresh)
        token.blacklist()
    except TokenError as exc:
        raise InvalidToken(str(exc)) from None
    return Response(status=204)


def documented_token_views():
    """simplejwt's login and refresh views with their 400/401 answers in the schema."""
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
        summary="Refresh: a new access token and a new refresh token (the one sent is revoked)",
        responses={200: _RefreshSerializer, **errors},
    )(TokenRefreshView)
    return login.as_view(), refresh.as_view(serializer_class=_RefreshSerializer)
