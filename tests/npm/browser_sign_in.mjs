// The user's part of an OAuth sign-in, in a real browser: Debian's Chromium, headless, driven
// by playwright-core (it never downloads a browser). Opens the authorization URL, clicks Allow
// (or Deny) on the facade's consent page, fills the Cognito stand-in's login form, and captures
// the redirect to the client's loopback redirect URI, which it does not need to reach.
//
// CLI: node browser_sign_in.mjs <authorization-url> <redirect-uri> <username> <password> [allow|deny]
// prints one JSON line: {"redirect": "<redirect-uri>?code=…&state=…&iss=…", "consent": "<page text>"}
// Chromium: $SMCP_CHROMIUM (default /usr/bin/chromium). Every wait is bounded.

import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

const STEP_MS = 15000;

// The flags this machine kind needs: no sandbox as root, and no background traffic (the
// network is closed; Chromium would retry Google's hosts at every start). Playwright gives each
// launch a fresh, empty user data dir of its own.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function signIn({ url, redirectUri, username, password, decision = 'allow' }) {
  const browser = await chromium.launch({
    executablePath: process.env.SMCP_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    timeout: STEP_MS,
  });
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    // Every request is seen here, redirects included (page.route misses redirected ones).
    let captured;
    const redirected = new Promise((resolve) => {
      captured = resolve;
    });
    page.on('request', (request) => {
      if (request.url().startsWith(redirectUri)) captured(request.url());
    });
    // An error page on the way (consent refused, bad sign-in request) ends the wait at once.
    let failed;
    const failure = new Promise((_, reject) => {
      failed = reject;
    });
    failure.catch(() => {});
    page.on('response', async (response) => {
      if (response.request().isNavigationRequest() && response.status() >= 400) {
        const text = await response.text().catch(() => '');
        failed(new Error(`HTTP ${response.status()} at ${response.url()}: ${text.slice(0, 2000)}`));
      }
    });
    // Nothing listens on the redirect URI: answer it so Chromium shows no error page.
    await page.route(
      (u) => u.href.startsWith(redirectUri),
      (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'done' }),
    );

    const response = await page.goto(url);
    if (!response || response.status() !== 200) {
      throw new Error(`consent page: HTTP ${response && response.status()}: ${await page.content()}`);
    }
    const consent = await page.locator('body').innerText();
    await page.click(`button[name="decision"][value="${decision}"]`);

    // Allow leads to the login form; Deny straight back to the client.
    const login = page
      .waitForSelector('input[name="password"]')
      .then(() => 'login')
      .catch(() => 'no login form');
    const next = await within(
      STEP_MS,
      Promise.race([redirected.then(() => 'redirected'), login, failure]),
      'after consent',
    ).catch(async (error) => {
      throw new Error(`${error.message}; at ${page.url()}: ${(await page.content()).slice(0, 2000)}`);
    });
    if (next === 'login') {
      await page.fill('input[name="username"]', username);
      await page.fill('input[name="password"]', password);
      await page.click('button[type="submit"]');
    } else if (next !== 'redirected') {
      throw new Error(`neither a login form nor a redirect after consent: ${await page.content()}`);
    }
    const redirect = await within(STEP_MS, Promise.race([redirected, failure]), `the redirect to ${redirectUri}`);
    return { redirect, consent };
  } finally {
    await browser.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [url, redirectUri, username, password, decision] = process.argv.slice(2);
  try {
    console.log(JSON.stringify(await signIn({ url, redirectUri, username, password, decision })));
  } catch (error) {
    console.log(JSON.stringify({ error: String(error && error.stack ? error.stack : error) }));
    process.exitCode = 1;
  }
}
