"""authlib and requests-oauthlib asking tokengate's token service for scopes and audiences.

Usage: python_grants.py BASE_URL CLIENT_ID CLIENT_SECRET SCOPE RESOURCE

For each library: a token for SCOPE and RESOURCE (RFC 8707), introspected (authlib's
helper, or plain requests); then a scope the client does not hold, and a resource that is not
one of its audiences, each answered with the library's own OAuth error. Prints one JSON object
per library; exits non-zero on an unexpected failure, saying which.
"""

import json
import os
import sys

# The tests run on loopback over plain http; oauthlib refuses that unless told.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import BackendApplicationClient
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from requests_oauthlib import OAuth2Session as RequestsOAuthlibSession

base, client_id, client_secret, scope, resource = sys.argv[1:6]
token_url = f"{base}/oauth2/token"
introspect_url = f"{base}/oauth2/introspect"
STRANGER = "https://elsewhere.example.com"


def authlib_token(asked_scope, asked_resource):
    session = AuthlibSession(client_id, client_secret, scope=asked_scope)
    try:
        token = session.fetch_token(
            token_url, grant_type="client_credentials", resource=asked_resource
        )
    except OAuthError as error:
        return session, None, error.error
    return session, token, None


def authlib_run():
    session, token, _ = authlib_token(scope, resource)
    claims = session.introspect_token(introspect_url, token=token["access_token"]).json()
    _, _, scope_error = authlib_token("admin", resource)
    _, _, target_error = authlib_token(scope, STRANGER)
    return claims, scope_error, target_error


def requests_oauthlib_token(asked_scope, asked_resource):
    # The backend client puts its own scope in the token request; the session's is what it
    # checks the answer against.
    session = RequestsOAuthlibSession(
        client=BackendApplicationClient(client_id=client_id, scope=[asked_scope]),
        scope=[asked_scope],
    )
    try:
        token = session.fetch_token(
            token_url,
            client_id=client_id,
            client_secret=client_secret,
            resource=asked_resource,
        )
    except OAuth2Error as error:
        return None, error.error
    return token, None


def requests_oauthlib_run():
    token, _ = requests_oauthlib_token(scope, resource)
    response = requests.post(
        introspect_url,
        data={"token": token["access_token"]},
        auth=(client_id, client_secret),
        timeout=30,
    )
    response.raise_for_status()
    _, scope_error = requests_oauthlib_token("admin", resource)
    _, target_error = requests_oauthlib_token(scope, STRANGER)
    return response.json(), scope_error, target_error


for library, run in [("authlib", authlib_run), ("requests-oauthlib", requests_oauthlib_run)]:
    try:
        claims, scope_error, target_error = run()
    except Exception as error:  # the test prints which library failed
        print(json.dumps({"library": library, "error": repr(error)}))
        sys.exit(1)
    print(
        json.dumps(
            {
                "library": library,
                "active": claims.get("active"),
                "scope": claims.get("scope"),
                "aud": claims.get("aud"),
                "unheld_scope": scope_error,
                "foreign_resource": target_error,
            }
        ),
        flush=True,
    )
