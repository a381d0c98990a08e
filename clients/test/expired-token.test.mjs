// A token that expires while its WebSocket stays open: operations sent on that socket after
// the expiry are refused with UNAUTHENTICATED, and a refused mutation writes nothing.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ACME, BOB, sleep, startGateway, unique } from '../harness.mjs';

/** Runs one operation over the socket; resolves with `{ results, errors }` once it ends. */
function execute(client, payload, timeoutMs = 10_000) {
  return new Promise((resolveRun) => {
    const results = [];
    let dispose;
    const timer = setTimeout(() => {
      dispose?.();
      resolveRun({ results, errors: null, timedOut: true });
    }, timeoutMs);
    dispose = client.subscribe(payload, {
      next: (result) => results.push(result),
      error: (errors) => {
        clearTimeout(timer);
        resolveRun({ results, errors });
      },
      complete: () => {
        clearTimeout(timer);
        resolveRun({ results, errors: null });
      },
    });
  });
}

/** The `extensions.code`s of an operation's outcome, wherever the server put the errors. */
function codesOf(outcome) {
  const errors = [
    ...outcome.results.flatMap((r) => r.errors ?? []),
    ...(Array.isArray(outcome.errors) ? outcome.errors : []),
  ];
  return errors.map((e) => e?.extensions?.code);
}

const describeOutcome = (outcome) =>
  JSON.stringify({
    results: outcome.results,
    errors: outcome.errors instanceof Error || outcome.errors?.code
      ? { code: outcome.errors.code, reason: outcome.errors.reason, message: outcome.errors.message }
      : outcome.errors,
    timedOut: outcome.timedOut,
  });

describe('an expired token on an open graphql-ws socket', () => {
  let gateway;
  let client;
  before(async () => {
    gateway = await startGateway({ env: { ROWGATE_JWT_LEEWAY_SECS: '0' } });
  });
  after(async () => {
    await client?.dispose();
    await gateway?.stop();
  });

  test('queries and mutations after expiry are UNAUTHENTICATED and write nothing', async () => {
    const token = await gateway.token(BOB, ACME, { ttl: '3s' });
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp;
    assert.ok(exp * 1000 - Date.now() <= 4000, `the token expires in about 3 s (exp ${exp})`);

    let connected = 0;
    const closes = [];
    client = createClient({
      url: gateway.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${token}` },
      // One socket for the whole test: connect now, keep it without subscriptions, never retry.
      lazy: false,
      retryAttempts: 0,
      on: {
        connected: () => connected++,
        closed: (event) => closes.push({ code: event?.code, reason: event?.reason }),
      },
    });

    const before = await execute(client, { query: '{ me { userId } }' });
    assert.equal(before.errors, null, describeOutcome(before));
    assert.equal(before.results[0]?.data?.me?.userId, BOB, describeOutcome(before));

    // Past the expiry (leeway 0), with a margin for whole-second `exp`.
    await sleep(Math.max(0, exp * 1000 - Date.now()) + 1500);

    const query = await execute(client, { query: '{ me { userId } posts { totalCount } }' });
    const title = unique('Written with an expired token');
    const mutation = await execute(client, {
      query: 'mutation($t: String!) { createPost(input: {title: $t, body: "b", status: PUBLISHED}) { id } }',
      variables: { t: title },
    });

    // Nothing was written: a fresh token over HTTP finds no such post.
    const { body } = await gateway.gql(
      'query($t: String!) { posts(filter: {title: {eq: $t}}) { totalCount } }',
      { t: title },
      await gateway.token(BOB, ACME),
    );
    assert.equal(body.errors, undefined, JSON.stringify(body));

    // The premise: the server itself holds the token expired (over HTTP it is refused).
    const overHttp = await gateway.gql('{ me { userId } }', {}, token);
    assert.equal(
      overHttp.body?.errors?.[0]?.extensions?.code,
      'UNAUTHENTICATED',
      `the token is not yet expired for the server: ${overHttp.status} ${JSON.stringify(overHttp.body)}`,
    );

    // Every expectation is checked, and all that fail are reported together.
    const problems = [];
    if (connected !== 1) {
      problems.push(`the operations did not all run on the first socket (connected ${connected} times, closes ${JSON.stringify(closes)})`);
    }
    if (!codesOf(query).includes('UNAUTHENTICATED')) {
      problems.push(`a query after expiry must fail with UNAUTHENTICATED; got ${describeOutcome(query)}`);
    }
    if (query.results.some((r) => r.data?.me?.userId === BOB || r.data?.posts)) {
      problems.push(`a query after expiry returned data: ${describeOutcome(query)}`);
    }
    if (!codesOf(mutation).includes('UNAUTHENTICATED')) {
      problems.push(`a mutation after expiry must fail with UNAUTHENTICATED; got ${describeOutcome(mutation)}`);
    }
    if (body.data.posts.totalCount !== 0) {
      problems.push(`the mutation after expiry wrote a post (${body.data.posts.totalCount} found)`);
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });
});
