"""Verifies a tokengate JWT access token with PyJWT, fetching the JWKS over HTTP
(PyJWKClient), and requiring RFC 9068's claims. One JSON line: verified or not, the claims
or the error.

Usage: python3 verify_jwt.py JWKS_URL TOKEN ISSUER AUDIENCE
"""

import json
import sys

try:
    import jwt
except ImportError:
    sys.exit("PyJWT is not installed: run infra/scripts/install-test-tools")

jwks_url, token, issuer, audience = sys.argv[1:5]
try:
    header = jwt.get_unverified_header(token)
    key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=[header["alg"]],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    if header.get("typ") != "at+jwt":
        raise jwt.InvalidTokenError(f"typ is {header.get('typ')}, not at+jwt")
    print(json.dumps({"library": "pyjwt", "verified": True, "claims": claims}))
except Exception as error:  # every failure is a result the test reads
    print(json.dumps({"library": "pyjwt", "verified": False, "error": f"{type(error).__name__}: {error}"}))
