// The OpenID Connect provider the single sign-on tests start (npm oidc-provider, devInteractions:
// any password is accepted). Everything comes from the environment, set by tests/support/sso_providers.py.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const provider = new Provider(issuer, {
  clients: [{
    client_id: 'strongroom',
    client_secret: 'strongroom-secret',
    redirect_uris: JSON.parse(process.env.OIDC_REDIRECT_URIS),
    post_logout_redirect_uris: JSON.parse(process.env.OIDC_POST_LOGOUT_URIS),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [JSON.parse(process.env.OIDC_SIGNING_JWK)] },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  async findAccount(ctx, id) {
    const known = accounts[id] || { email: `${id}@force.police.test`, email_verified: true, name: id, groups: [] };
    return { accountId: id, async claims() { return { sub: id, ...known }; } };
  },
  cookies: { keys: ['test-cookie-key'] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
