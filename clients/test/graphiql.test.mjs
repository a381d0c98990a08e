// GraphiQL in a real browser (Debian's headless Chromium driven by playwright-core): the
// embedded default (no secret configured, so the gateway generates one) opens anonymous with
// the schema loaded, offers the demo accounts under "Act as", runs a query and a subscription
// as bob, and refetches the schema when the headers are edited by hand. Every request the
// page makes goes to the gateway's own origin, and none fails (favicon included).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

import { chromium } from 'playwright-core';

import { BOB, createPost, startGateway, unique } from '../harness.mjs';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let gateway;
let browser;

before(async () => {
  assert.ok(
    existsSync(executablePath),
    `no Chromium at ${executablePath}: apt-get install chromium (scripts/client-tests.sh does) or set CHROMIUM_PATH`,
  );
  // No ROWGATE_JWT_SECRET: the embedded default, with the secret it generates.
  [gateway, browser] = await Promise.all([
    startGateway({ env: { ROWGATE_JWT_SECRET: null } }),
    chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu'] }),
  ]);
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
});

const isIntrospection = (request) =>
  request.method() === 'POST' && (request.postData() ?? '').includes('IntrospectionQuery');

/** The text of GraphiQL's result pane (a CodeMirror 5 editor). */
const resultText = () => document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue() ?? '';

async function setQuery(page, query) {
  await page.evaluate((q) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q);
  }, query);
  // GraphiQL parses the edited query after a short debounce; the fetcher chooses HTTP or the
  // WebSocket from that parse.
  await page.waitForTimeout(400);
}

async function waitForResult(page, needle, timeout = 5000) {
  await page.waitForFunction(
    (text) => (document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue() ?? '').includes(text),
    needle,
    { timeout },
  );
}

test('GraphiQL: anonymous schema, act as bob, query and subscription, same origin only', { timeout: 45_000 }, async () => {
  const origin = new URL(gateway.url).origin;
  const context = await browser.newContext();
  const requests = [];
  const failures = [];
  const sockets = [];
  const pageErrors = [];
  context.on('request', (request) => requests.push(request.url()));
  context.on('requestfailed', (request) =>
    failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`),
  );
  context.on('response', (response) => {
    if (response.status() >= 400) failures.push(`${response.status()} ${response.url()}`);
  });
  const page = await context.newPage();
  page.on('websocket', (socket) => sockets.push(socket.url()));
  page.on('pageerror', (error) => pageErrors.push(String(error)));

  // The first screen: anonymous headers, and the schema introspected successfully.
  const firstIntrospection = page.waitForResponse((r) => isIntrospection(r.request()));
  await page.goto(`${gateway.url}/`);
  const introspected = await firstIntrospection;
  assert.equal(introspected.status(), 200);
  assert.equal(introspected.request().headers().authorization, undefined, 'the first screen is anonymous');
  assert.ok((await introspected.json()).data?.__schema, 'introspection answered anonymously');
  await page.click('[aria-label="Show Documentation Explorer"]');
  await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().waitFor();
  assert.equal(await page.getByText('Error fetching schema').count(), 0);

  // "Act as" bob: the header is set and the schema fetched again with it.
  await page.locator('#rowgate-act-as option', { hasText: 'member of Acme (bob)' }).waitFor({ state: 'attached' });
  const asBob = page.waitForResponse(
    (r) => isIntrospection(r.request()) && (r.request().headers().authorization ?? '').startsWith('Bearer '),
  );
  await page.selectOption('#rowgate-act-as', { label: 'member of Acme (bob)' });
  assert.equal((await asBob).status(), 200);
  const bobToken = (await (await asBob).request().headers().authorization).slice('Bearer '.length);

  await setQuery(page, '{ me { userId role } posts(first: 3) { totalCount } }');
  await page.click('.graphiql-execute-button');
  await waitForResult(page, BOB);
  const queried = JSON.parse(await page.evaluate(resultText));
  assert.equal(queried.data.me.userId, BOB);
  assert.ok(queried.data.posts.totalCount > 0, JSON.stringify(queried));

  // A subscription: posts bob writes appear in the result pane. It starts asynchronously on
  // the server, so write until one arrives.
  await setQuery(page, 'subscription { postChanged { op node { title } } }');
  await page.click('.graphiql-execute-button');
  let seen = null;
  for (let attempt = 1; attempt <= 10 && !seen; attempt++) {
    const title = unique('graphiql');
    await createPost(gateway, bobToken, title);
    try {
      await waitForResult(page, title, 1500);
      seen = title;
    } catch {}
  }
  assert.ok(seen, `no subscription event in the result pane: ${await page.evaluate(resultText)}`);
  assert.match(await page.evaluate(resultText), /"postChanged"/);
  await page.click('.graphiql-execute-button'); // stops the subscription

  // Headers edited by hand: after a pause the schema is fetched again, with them.
  const byHand = page.waitForRequest((r) => isIntrospection(r) && r.headers().authorization === undefined);
  await page.evaluate(() => {
    document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').CodeMirror.setValue('{ }');
  });
  await byHand;
  assert.equal(await page.inputValue('#rowgate-act-as'), 'anonymous');

  const foreign = requests.filter((url) => new URL(url).origin !== origin);
  assert.deepEqual(foreign, [], 'every request goes to the gateway');
  assert.ok(sockets.length > 0, 'the subscription used a WebSocket');
  for (const url of sockets) assert.equal(new URL(url).host, new URL(origin).host, url);
  assert.ok(requests.includes(`${origin}/favicon.svg`), `the favicon was requested: ${requests}`);
  assert.deepEqual(failures, [], 'no request failed');
  assert.deepEqual(pageErrors, [], 'no script error');
  await context.close();
});
