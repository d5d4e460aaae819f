// A real OpenID provider for the tests: node's `oidc-provider` (panva), on loopback, with one
// confidential client. Its development login form accepts any login name as the account and
// asserts it as a verified email; PKCE is required, as Inkan always sends it.
//
//   node provider.mjs <port> <client_id> <client_secret> <redirect_uri>
//
// The module is found at OIDC_PROVIDER_MODULE (its lib/index.js). Prints "ready" when it listens.
//
// Two routes outside OpenID Connect drive the refusal tests: `POST /test/fault/<aud|nonce|
// expired|none>` spoils the ID tokens issued from then on (still signed with the provider's
// key), and `GET /test/last-callback` answers the last redirect to the client's callback.
import { pathToFileURL } from "node:url";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const { default: Provider } = await import(pathToFileURL(process.env.OIDC_PROVIDER_MODULE).href);

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  cookies: { keys: ["inkan-test-cookie-key"] },
  features: { devInteractions: { enabled: true } },
  // Consent is implied: the tests look at Inkan, not at the provider's consent screen.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile");
    grant.addOIDCClaims(["email", "email_verified", "name"]);
    await grant.save();
    return grant;
  },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: id,
      email_verified: true,
      name: `SSO ${id.split("@")[0]}`,
    }),
  }),
});
let fault = "none";
let lastCallback = "";
provider.use(async (ctx, next) => {
  const set = ctx.path.match(/^\/test\/fault\/(aud|nonce|expired|none)$/);
  if (set && ctx.method === "POST") {
    fault = set[1];
    ctx.status = 204;
    return;
  }
  if (ctx.path === "/test/last-callback") {
    ctx.body = lastCallback;
    return;
  }
  await next();
  const location = ctx.response.get("location");
  if (location && location.startsWith(redirectUri)) {
    lastCallback = location;
  }
});
const issue = provider.IdToken.prototype.issue;
provider.IdToken.prototype.issue = async function (options = {}) {
  if (fault === "nonce") {
    this.set("nonce", "a-nonce-this-login-never-sent");
  }
  if (fault === "aud") {
    const real = this.client;
    const other = new Proxy(real, {
      get: (target, key) => (key === "clientId" ? "someone-else" : Reflect.get(target, key, target)),
    });
    Object.defineProperty(this, "client", { value: other, configurable: true });
  }
  if (fault === "expired") {
    options = { ...options, expiresAt: Math.floor(Date.now() / 1000) - 3600 };
  }
  return issue.call(this, options);
};
provider.proxy = false;
provider.listen(Number(port), "127.0.0.1", () => {
  console.log("ready");
});
