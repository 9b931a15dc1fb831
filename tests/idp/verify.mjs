// Verifies a tokengate JWT access token with two libraries nobody here wrote, each fetching
// the JWKS over HTTP: jose (createRemoteJWKSet, jwtVerify with typ at+jwt) and
// aws-jwt-verify (JwtVerifier, which verifies as API Gateway's JWT authorizer does). One
// JSON line each: verified or not, the claims or the error.
//
// Usage: node verify.mjs JWKS_URL TOKEN ISSUER AUDIENCE
//
// aws-jwt-verify's own fetcher speaks https only; the tests' token service is plain http
// on loopback, so it is given a fetcher over node's fetch through its documented
// SimpleJwksCache option. Everything else is the library's own.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { JwtVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';

const [jwksUrl, token, issuer, audience] = process.argv.slice(2);

function report(library, run) {
  return run.then(
    (claims) => console.log(JSON.stringify({ library, verified: true, claims })),
    (error) => console.log(JSON.stringify({ library, verified: false, error: `${error.name}: ${error.message}` })),
  );
}

await report('jose', (async () => {
  const keys = createRemoteJWKSet(new URL(jwksUrl));
  const { payload } = await jwtVerify(token, keys, {
    issuer,
    audience,
    typ: 'at+jwt',
    requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'scope'],
  });
  return payload;
})());

await report('aws-jwt-verify', (async () => {
  const fetcher = {
    async fetch(uri) {
      const response = await fetch(uri);
      if (response.status !== 200) throw new Error(`JWKS answered ${response.status}`);
      return response.arrayBuffer();
    },
  };
  const verifier = JwtVerifier.create(
    {
      issuer,
      audience,
      jwksUri: jwksUrl,
      customJwtCheck: ({ header }) => {
        if (header.typ !== 'at+jwt') throw new Error(`typ is ${header.typ}, not at+jwt`);
      },
    },
    { jwksCache: new SimpleJwksCache({ fetcher }) },
  );
  return verifier.verify(token);
})());
