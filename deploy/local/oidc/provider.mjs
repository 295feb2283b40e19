// A local, standards-compliant OpenID Connect provider (panva's certified `oidc-provider`), for
// tests and development only: it plays an agency's own identity provider. Clients use the
// client_credentials grant with the resource indicator `urn:mend:api` and get a JWT access
// token for the audience `mend`, signed with a fresh Ed25519 key published at /jwks, carrying
// the agency's claim mapping (`mend_role`, `mend_pid`).
//
//   MEND_OIDC_PORT     port on 127.0.0.1 (issuer: http://127.0.0.1:<port>); 0: one the system
//                      picks, named in the line `oidc-provider listening on <issuer>` (the tests
//                      use it: no free port guessed, then taken by another process first)
//   MEND_OIDC_CLIENTS  JSON [{"client_id", "client_secret", "mend_role", "mend_pid"}]
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.MEND_OIDC_PORT || 4010);
const clients = JSON.parse(process.env.MEND_OIDC_CLIENTS || '[]');
const byId = new Map(clients.map((c) => [c.client_id, c]));

// A new signing key per start: nothing secret is kept on disk.
const { privateKey } = generateKeyPairSync('ed25519');
const signing = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'EdDSA', use: 'sig' };

const RESOURCE = 'urn:mend:api';

// The issuer names the port, which is known once the socket is bound.
const configure = (issuer) => new Provider(issuer, {
  jwks: { keys: [signing] },
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'EdDSA',
  })),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'mend',
          audience: 'mend',
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'EdDSA' } },
        };
      },
    },
  },
  // The agency's claim mapping: who the client acts for, in which of Mend's roles.
  extraTokenClaims: (_ctx, token) => {
    const client = byId.get(token.clientId);
    return client ? { mend_role: client.mend_role, mend_pid: client.mend_pid } : undefined;
  },
});

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  server.on('request', configure(issuer).callback());
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});
