// openid-client (v6) against tokengate's token service, unchanged: discovery, then the
// client credentials grant, introspection, revocation, and introspection again.
//
// Usage: node client.mjs SERVER CLIENT_ID CLIENT_SECRET METHOD
//   SERVER  the issuer URL (discovered through RFC 8414's well-known location), or the
//           metadata document's own URL (any URL containing /.well-known/)
//   METHOD  client_secret_basic or client_secret_post
import * as client from 'openid-client';

const [server, clientId, secret, method] = process.argv.slice(2);
const auth = method === 'client_secret_post'
  ? client.ClientSecretPost(secret)
  : client.ClientSecretBasic(secret);
try {
  const config = await client.discovery(new URL(server), clientId, undefined, auth, {
    algorithm: 'oauth2',
    // Loopback in the tests is plain http.
    execute: [client.allowInsecureRequests],
  });
  const tokens = await client.clientCredentialsGrant(config);
  const before = await client.tokenIntrospection(config, tokens.access_token);
  await client.tokenRevocation(config, tokens.access_token);
  const after = await client.tokenIntrospection(config, tokens.access_token);
  console.log(JSON.stringify({
    library: 'openid-client',
    method,
    issuer: config.serverMetadata().issuer,
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    active_before: before.active,
    client_id: before.client_id,
    active_after_revocation: after.active,
  }));
} catch (error) {
  console.log(JSON.stringify({ library: 'openid-client', method, error: String(error), cause: String(error.cause ?? '') }));
  process.exit(1);
}
