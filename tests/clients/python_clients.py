"""Standard OAuth 2.0 client libraries against tokengate's token service, unchanged.

Usage: python_clients.py BASE_URL CLIENT_ID CLIENT_SECRET

For each of authlib and requests-oauthlib, and each client authentication method
(client_secret_basic, client_secret_post): get a token with the client credentials grant,
introspect it, revoke it, and introspect it again. Prints one JSON object per run; exits
non-zero on the first failure, saying which.
"""

import json
import os
import sys

# The tests run on loopback over plain http; oauthlib refuses that unless told.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session as RequestsOAuthlibSession

base, client_id, client_secret = sys.argv[1:4]
token_url = f"{base}/oauth2/token"
introspect_url = f"{base}/oauth2/introspect"
revoke_url = f"{base}/oauth2/revoke"


def authlib_run(method):
    session = AuthlibSession(
        client_id, client_secret, token_endpoint_auth_method=method
    )
    token = session.fetch_token(token_url, grant_type="client_credentials")
    access_token = token["access_token"]
    before = session.introspect_token(introspect_url, token=access_token)
    before.raise_for_status()
    revoked = session.revoke_token(revoke_url, token=access_token)
    revoked.raise_for_status()
    after = session.introspect_token(introspect_url, token=access_token)
    after.raise_for_status()
    return token, before.json(), after.json()


def requests_oauthlib_run(method):
    session = RequestsOAuthlibSession(client=BackendApplicationClient(client_id=client_id))
    # include_client_id=True puts client_id and client_secret in the body and no Basic
    # header (client_secret_post); otherwise the library sends HTTP Basic.
    token = session.fetch_token(
        token_url,
        client_id=client_id,
        client_secret=client_secret,
        include_client_id=(method == "client_secret_post"),
    )
    access_token = token["access_token"]
    # requests-oauthlib has no introspection or revocation helper: plain requests, with
    # the same client authentication.
    if method == "client_secret_post":
        auth, extra = None, {"client_id": client_id, "client_secret": client_secret}
    else:
        auth, extra = (client_id, client_secret), {}

    def post(url):
        response = requests.post(url, data={"token": access_token, **extra}, auth=auth, timeout=30)
        response.raise_for_status()
        return response

    before = post(introspect_url).json()
    post(revoke_url)
    after = post(introspect_url).json()
    return token, before, after


for library, run in [("authlib", authlib_run), ("requests-oauthlib", requests_oauthlib_run)]:
    for method in ["client_secret_basic", "client_secret_post"]:
        try:
            token, before, after = run(method)
        except Exception as error:  # the test prints which library and method failed
            print(json.dumps({"library": library, "method": method, "error": repr(error)}))
            sys.exit(1)
        print(
            json.dumps(
                {
                    "library": library,
                    "method": method,
                    "token_type": token.get("token_type"),
                    "expires_in": token.get("expires_in"),
                    "active_before": before.get("active"),
                    "client_id": before.get("client_id"),
                    "active_after_revocation": after.get("active"),
                }
            ),
            flush=True,
        )
