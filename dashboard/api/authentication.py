"""The dashboard reads' authentication: simplejwt's JWT check, the user from Redis.

The token's signature and expiry are checked as simplejwt does (no database);
the user comes from the identity copy in Redis (dashboard/api/identity.py) while
it is fresh and under the current auth epoch, else from the database, which
writes a new copy. A hit costs no query (instead of three: user, its
permissions, its groups' permissions) and usually no Redis round trip either
(the process's mirror holds the copy and the epoch). During a database outage
an older copy stands in (OUTAGE_AUTH_CACHE_S); without one the database error
goes up (503 from common/api.py).
"""

import time

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from common import outage
from dashboard.api import identity

# raw token -> its validated token, until its expiry: a token's signature and claims never
# change, so each process checks a token once (what a token may still do is the identity's
# business, read per request). Bounded: cleared when full.
_validated = {}
_MAX_VALIDATED = 20000


class CachedJWTAuthentication(JWTAuthentication):
    """JWT bearer authentication whose user is read from its identity copy when fresh."""

    def get_validated_token(self, raw_token):
        hit = _validated.get(raw_token)
        if hit is not None and hit[0] > time.time():
            return hit[1]
        token = super().get_validated_token(raw_token)
        if len(_validated) >= _MAX_VALIDATED:
            _validated.clear()
        _validated[raw_token] = (float(token["exp"]), token)
        return token

    def get_user(self, validated_token):
        user_id = validated_token.get(jwt_settings.USER_ID_CLAIM)
        if user_id is None:
            return super().get_user(validated_token)  # the "no user claim" error
        copy, epoch = identity.identity_lookup(user_id)
        if identity.identity_fresh(copy):
            return copy
        try:
            user = super().get_user(validated_token)
            user.get_all_permissions()  # fills the user's permission cache, for the copy
        except outage.DATABASE_ERRORS:
            outage.note_failure()
            if identity.identity_fresh(copy, outage=True):
                return copy
            raise
        except AuthenticationFailed:
            identity.identity_forget(user_id)
            raise
        outage.note_success()
        identity.identity_remember(user, epoch)
        return user


class CachedJWTScheme(SimpleJWTScheme):
    """In the OpenAPI schema: the same bearer JWT as every other endpoint (the `jwtAuth`
    scheme that simplejwt's JWTAuthentication, the API's default, declares)."""

    target_class = CachedJWTAuthentication
    name = []  # declares no scheme of its own: a client authorizes once for the whole API

    def get_security_requirement(self, auto_schema):
        return {SimpleJWTScheme.name: []}

    def get_security_definition(self, auto_schema):
        return []
