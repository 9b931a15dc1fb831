// A real OpenID provider for tokengate's tests: node oidc-provider on a loopback port, with
// client credentials and resource indicators, so that it issues JWT access tokens for a
// resource. Prints `listening on http://127.0.0.1:PORT` once it serves.
//
// Environment: IDP_PORT (0 for any free port), IDP_ALG (the access tokens' algorithm,
// RS256 by default).
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'tokengate-test-client';
export const CLIENT_SECRET = 'tokengate-test-client-secret';
export const RESOURCE = 'api://orders';

const alg = process.env.IDP_ALG || 'RS256';
const signingKey = (kid, type, options, keyAlg) => ({
  ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
  kid,
  alg: keyAlg,
  use: 'sig',
});
const keys = [
  signingKey('rsa-1', 'rsa', { modulusLength: 2048 }, 'RS256'),
  signingKey('ec-1', 'ec', { namedCurve: 'P-256' }, 'ES256'),
];

const server = createServer();
server.listen(Number(process.env.IDP_PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    }],
    jwks: { keys },
    scopes: ['orders.read', 'orders.write'],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (resource !== RESOURCE) throw new Error(`unknown resource ${resource}`);
          return {
            scope: 'orders.read orders.write',
            audience: RESOURCE,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  console.log(`listening on ${issuer}`);
});
process.on('SIGTERM', () => process.exit(0));
