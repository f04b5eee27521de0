// The official TypeScript MCP SDK's OAuth client against the local server in OAuth mode.
//
// Usage: node oauth_client_check.mjs '<json config>'
//   {url, registration: "dcr" | "cimd", redirect_uri, client_name, client_metadata_url?,
//    username, password, decision?: "allow" | "deny"}
// Connects without a token (401 → protected resource metadata → authorization server
// metadata), registers (DCR, or CIMD), signs in through headless Chromium
// (browser_sign_in.mjs), finishes with the code, lists tools and calls `calculate`, refreshes,
// calls again. Prints one JSON report; exits non-zero on the first failed check.
//
// CIMD: the SDK only takes an https `clientMetadataUrl`, and the test serves the document on
// loopback http (the server accepts that only with MCP_OAUTH_CIMD_ALLOW_HTTP_LOOPBACK). So the
// provider returns the document's URL as its client information, which the SDK then uses as
// the client_id without registering: the same requests the SDK's CIMD path sends.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { auth, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { randomBytes } from 'node:crypto';
import { signIn } from './browser_sign_in.mjs';

function check(condition, message) {
  if (!condition) throw new Error(message);
}

class Provider {
  constructor(config) {
    this.config = config;
    this.client = config.registration === 'cimd' ? { client_id: config.client_metadata_url } : undefined;
    this.savedTokens = undefined;
    this.verifier = undefined;
    this.stateValue = randomBytes(16).toString('hex');
    this.authorizationUrl = undefined;
  }
  get redirectUrl() {
    return this.config.redirect_uri;
  }
  get clientMetadata() {
    return {
      client_name: this.config.client_name,
      redirect_uris: [this.config.redirect_uri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    return this.stateValue;
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(information) {
    this.client = information;
  }
  tokens() {
    return this.savedTokens;
  }
  saveTokens(tokens) {
    this.savedTokens = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

async function run(config) {
  const report = { registration: config.registration, requests: [] };
  // Every request the SDK makes, to show the discovery order.
  const fetchLogged = async (input, init) => {
    const response = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    report.requests.push(`${(init && init.method) || 'GET'} ${url.pathname} ${response.status}`);
    return response;
  };
  const provider = new Provider(config);
  const connect = async () => {
    const transport = new StreamableHTTPClientTransport(new URL(config.url), {
      authProvider: provider,
      fetch: fetchLogged,
    });
    const client = new Client({ name: 'e2e-oauth-ts', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  };

  // No token yet: the SDK discovers, registers and asks for the user's authorization.
  const transport = new StreamableHTTPClientTransport(new URL(config.url), {
    authProvider: provider,
    fetch: fetchLogged,
  });
  try {
    await new Client({ name: 'e2e-oauth-ts', version: '1.0.0' }).connect(transport);
    throw new Error('connected without signing in');
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
  }
  check(provider.authorizationUrl, 'the SDK did not start an authorization');
  report.client_id = provider.client.client_id;

  const decision = config.decision || 'allow';
  const { redirect, consent } = await signIn({
    url: provider.authorizationUrl.href,
    redirectUri: config.redirect_uri,
    username: config.username,
    password: config.password,
    decision,
  });
  report.consent = consent;
  const params = new URL(redirect).searchParams;
  check(params.get('state') === provider.stateValue, `state mismatch: ${redirect}`);
  report.iss = params.get('iss');
  if (decision === 'deny') {
    report.error = params.get('error');
    check(!params.get('code'), `a code after Deny: ${redirect}`);
    check(!provider.tokens(), 'tokens after Deny');
    return report;
  }
  check(params.get('code'), `no code: ${redirect}`);
  await transport.finishAuth(params.get('code'));
  const first = provider.tokens();
  check(first && first.access_token && first.refresh_token, 'no tokens after the code exchange');

  const { client } = await connect();
  const tools = (await client.listTools()).tools;
  report.tools = tools.map((t) => t.name).sort();
  const calc = await client.callTool({ name: 'calculate', arguments: { operation: 'multiply', a: 6, b: 7 } });
  check(!calc.isError && calc.structuredContent.result === 42, `calculate: ${JSON.stringify(calc)}`);

  // Refresh now: with a refresh token saved, auth() goes to the token endpoint.
  check((await auth(provider, { serverUrl: config.url, fetchFn: fetchLogged })) === 'AUTHORIZED', 'refresh');
  const second = provider.tokens();
  report.access_token_changed = second.access_token !== first.access_token;
  report.refresh_token_rotated = second.refresh_token !== first.refresh_token;
  const again = await client.callTool({ name: 'calculate', arguments: { operation: 'add', a: 1, b: 2 } });
  check(!again.isError && again.structuredContent.result === 3, `calculate after refresh: ${JSON.stringify(again)}`);
  report.calls = 2;
  await client.close();
  return report;
}

const config = JSON.parse(process.argv[2]);
try {
  console.log(JSON.stringify(await run(config)));
} catch (error) {
  console.log(JSON.stringify({ error: String(error && error.stack ? error.stack : error) }));
  process.exitCode = 1;
}
