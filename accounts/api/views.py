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
