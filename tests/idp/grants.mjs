// openid-client (v6) asking tokengate's token service for a scope and a resource (RFC 8707),
// then for a scope the client does not hold and a resource that is not one of its audiences.
//
// Usage: node grants.mjs SERVER CLIENT_ID CLIENT_SECRET SCOPE RESOURCE
//   SERVER  the metadata document's URL (or the issuer's)
import * as client from 'openid-client';

const [server, clientId, secret, scope, resource] = process.argv.slice(2);
const error = async (parameters) => {
  try {
    await client.clientCredentialsGrant(config, parameters);
    return null;
  } catch (e) {
    return e.error ?? String(e);
  }
};
let config;
try {
  config = await client.discovery(new URL(server), clientId, undefined, client.ClientSecretBasic(secret), {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests],
  });
  const tokens = await client.clientCredentialsGrant(config, { scope, resource });
  const claims = await client.tokenIntrospection(config, tokens.access_token);
  console.log(JSON.stringify({
    library: 'openid-client',
    active: claims.active,
    scope: claims.scope,
    aud: claims.aud,
    unheld_scope: await error({ scope: 'admin', resource }),
    foreign_resource: await error({ scope, resource: 'https://elsewhere.example.com' }),
  }));
} catch (e) {
  console.log(JSON.stringify({ library: 'openid-client', error: String(e), cause: String(e.cause ?? '') }));
  process.exit(1);
}
