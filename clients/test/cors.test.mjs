// CORS as a browser on another origin meets it (ROWGATE_CORS_ORIGINS): the preflight of a
// POST with the headers a GraphQL client sends is allowed for a listed origin and cacheable,
// the POST's answer names that origin, and an unlisted origin is allowed nothing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ACME, BOB, startGateway } from '../harness.mjs';

const ALLOWED = 'https://app.example.com';
const EVIL = 'https://evil.example.com';
const REQUESTED_HEADERS = ['authorization', 'content-type', 'x-tenant-id'];

const headerDump = (response) => JSON.stringify(Object.fromEntries(response.headers));

describe('CORS (ROWGATE_CORS_ORIGINS=https://app.example.com)', () => {
  let gateway;
  before(async () => {
    gateway = await startGateway({ env: { ROWGATE_CORS_ORIGINS: ALLOWED } });
  });
  after(async () => {
    await gateway?.stop();
  });

  const preflight = (origin) =>
    fetch(gateway.graphqlUrl, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': REQUESTED_HEADERS.join(', '),
      },
    });

  const post = async (origin) =>
    fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: {
        origin,
        'content-type': 'application/json',
        authorization: `Bearer ${await gateway.token(BOB, ACME)}`,
        'x-tenant-id': ACME,
      },
      body: JSON.stringify({ query: '{ me { userId } }' }),
    });

  test('the preflight of a listed origin allows the POST, its headers, and is cacheable', async () => {
    const response = await preflight(ALLOWED);
    const headers = headerDump(response);
    assert.ok(response.status >= 200 && response.status < 300, `preflight status ${response.status}: ${headers}`);
    assert.equal(response.headers.get('access-control-allow-origin'), ALLOWED, headers);
    const allowed = (response.headers.get('access-control-allow-headers') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    // `*` does not cover `authorization` (Fetch standard), so each must be named.
    for (const header of REQUESTED_HEADERS) {
      assert.ok(allowed.includes(header), `access-control-allow-headers lacks ${header}: ${headers}`);
    }
    const maxAge = response.headers.get('access-control-max-age');
    assert.match(maxAge ?? '', /^\d+$/, `no access-control-max-age: ${headers}`);
    assert.ok(Number(maxAge) > 0, `access-control-max-age is ${maxAge}`);
  });

  test('a POST from the listed origin is answered with its allow-origin', async () => {
    const response = await post(ALLOWED);
    const headers = headerDump(response);
    assert.equal(response.status, 200, headers);
    assert.equal(response.headers.get('access-control-allow-origin'), ALLOWED, headers);
    const body = await response.json();
    assert.equal(body.data?.me?.userId, BOB, JSON.stringify(body));
  });

  test('an unlisted origin gets no access-control-allow-origin', async () => {
    const pre = await preflight(EVIL);
    assert.equal(pre.headers.get('access-control-allow-origin'), null, `preflight: ${headerDump(pre)}`);
    const response = await post(EVIL);
    assert.equal(response.headers.get('access-control-allow-origin'), null, `POST: ${headerDump(response)}`);
  });
});
