// graphql-ws 6 (protocol `graphql-transport-ws`) with its default settings: events arrive,
// tenants are isolated, a DELETE carries the row's key (and reaches a filtered subscription
// only for rows inside its filter), and an idle subscription survives on the same connection because the
// server keeps it alive with protocol pings (ROWGATE_WS_KEEPALIVE_SECS).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  ACME,
  BOB,
  CAROL,
  DAVE,
  EventLog,
  FRANK,
  GLOBEX,
  createPost,
  primeSubscriptions,
  sleep,
  startGateway,
  silentPeer,
  unique,
} from '../harness.mjs';

const POSTS = 'subscription { postChanged { op node { title tenantId } } }';
const titleOf = (event) => event?.postChanged?.node?.title;

/** A graphql-ws client with default settings (only the socket implementation and token given). */
function wsClient(gateway, token, on = {}) {
  return createClient({
    url: gateway.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    on,
  });
}

/** Subscribes `client` to `query`; every `next` payload's data goes to the returned log. */
function subscribe(client, query, label) {
  const log = new EventLog(label);
  const dispose = client.subscribe(
    { query },
    {
      next: (result) => (result.errors ? log.fail(JSON.stringify(result.errors)) : log.push(result.data)),
      error: (error) => log.fail(error instanceof Error ? error : JSON.stringify(error)),
      complete: () => log.fail('completed'),
    },
  );
  log.dispose = dispose;
  return log;
}

describe('graphql-ws against the default gateway', () => {
  let gateway;
  const clients = [];
  before(async () => {
    gateway = await startGateway();
  });
  after(async () => {
    for (const client of clients) await client.dispose();
    await gateway?.stop();
  });

  test('a subscription receives the event of a mutation', async () => {
    const bob = await gateway.token(BOB, ACME);
    const client = wsClient(gateway, bob);
    clients.push(client);
    const log = subscribe(client, POSTS, 'bob');
    await primeSubscriptions(gateway, [log], titleOf);

    const title = unique('Acme news');
    await createPost(gateway, await gateway.token(CAROL, ACME), title);
    const event = await log.waitFor((e) => titleOf(e) === title, 5000, `event for "${title}"`);
    assert.equal(event.postChanged.op, 'INSERT');
    assert.equal(event.postChanged.node.tenantId, ACME);
    log.dispose();
  });

  test('a Globex user does not receive an Acme tenant event', async () => {
    const [bob, frank] = [await gateway.token(BOB, ACME), await gateway.token(FRANK, GLOBEX)];
    const bobClient = wsClient(gateway, bob);
    const frankClient = wsClient(gateway, frank);
    clients.push(bobClient, frankClient);
    const bobLog = subscribe(bobClient, POSTS, 'bob (Acme)');
    const frankLog = subscribe(frankClient, POSTS, 'frank (Globex)');
    // Both subscriptions are live (each received a public probe post).
    await primeSubscriptions(gateway, [bobLog, frankLog], titleOf);

    const acmeTitle = unique('Acme only');
    const globexTitle = unique('Globex only');
    await createPost(gateway, await gateway.token(CAROL, ACME), acmeTitle); // tenant visibility
    await createPost(gateway, await gateway.token(DAVE, GLOBEX), globexTitle);

    await bobLog.waitFor((e) => titleOf(e) === acmeTitle, 5000, 'the Acme post');
    // Frank's stream has moved past the Acme write: the Globex post was written after it.
    await frankLog.waitFor((e) => titleOf(e) === globexTitle, 5000, 'the Globex post');
    await sleep(300);
    assert.equal(
      frankLog.find((e) => titleOf(e) === acmeTitle),
      undefined,
      `a Globex member received an Acme tenant post: ${JSON.stringify(frankLog.events)}`,
    );
    assert.equal(
      bobLog.find((e) => titleOf(e) === globexTitle),
      undefined,
      `an Acme member received a Globex tenant post: ${JSON.stringify(bobLog.events)}`,
    );
    bobLog.dispose();
    frankLog.dispose();
  });

  test('a DELETE names its row by key, and a filtered subscription gets only the DELETEs of rows inside its filter', async () => {
    const carol = await gateway.token(CAROL, ACME);
    const client = wsClient(gateway, carol);
    clients.push(client);
    const fields = '{ op key { id nodeId } node { title } }';
    const all = subscribe(client, `subscription { postChanged ${fields} }`, 'all');
    // Probe posts are titled "probe …": the filtered subscription sees them, and so primes.
    const filtered = subscribe(client, `subscription { postChanged(filter: {title: {startsWith: "probe"}}) ${fields} }`, 'filtered');
    await primeSubscriptions(gateway, [all, filtered], titleOf);

    const inside = await createPost(gateway, carol, unique('probe inside'));
    const outside = await createPost(gateway, carol, unique('elsewhere'));
    const remove = async (id) => {
      const { body } = await gateway.gql('mutation($id: UUID!) { deletePost(id: $id) { id } }', { id }, carol);
      assert.equal(body?.data?.deletePost?.id, id, JSON.stringify(body));
    };
    await remove(outside);
    await remove(inside);
    const deleted = (log, id) =>
      log.waitFor((e) => e.postChanged.op === 'DELETE' && e.postChanged.key.id === id, 5000, `DELETE of ${id} on ${log.label}`);
    const outsideGone = await deleted(all, outside);
    assert.equal(outsideGone.postChanged.node, null, 'a DELETE carries the key and nothing else');
    assert.equal(typeof outsideGone.postChanged.key.nodeId, 'string');
    await deleted(all, inside);
    // Events of one subscription arrive in order: once the later DELETE is here, the earlier
    // one would have been too.
    const insideGone = await deleted(filtered, inside);
    assert.equal(insideGone.postChanged.node, null);
    assert.equal(
      filtered.find((e) => e.postChanged.key.id === outside),
      undefined,
      `the filtered subscription saw a row outside its filter: ${JSON.stringify(filtered.events)}`,
    );
    all.dispose();
    filtered.dispose();
  });
});

describe('graphql-ws keep-alive (ROWGATE_WS_KEEPALIVE_SECS=2)', () => {
  let gateway;
  let client;
  before(async () => {
    gateway = await startGateway({ env: { ROWGATE_WS_KEEPALIVE_SECS: '2' } });
  });
  after(async () => {
    await client?.dispose();
    await gateway?.stop();
  });

  test('an idle subscription stays on the same connection, kept alive by server pings', async () => {
    const bob = await gateway.token(BOB, ACME);
    let connected = 0;
    let serverPings = 0;
    const closes = [];
    client = wsClient(gateway, bob, {
      connected: () => connected++,
      ping: (received) => {
        if (received) serverPings++;
      },
      closed: (event) => closes.push({ code: event?.code, reason: event?.reason }),
    });
    const log = subscribe(client, POSTS, 'bob');
    await primeSubscriptions(gateway, [log], titleOf);
    assert.equal(connected, 1, 'one connection before idling');

    // Idle for longer than three keep-alive intervals.
    await sleep(8000);

    const title = unique('After idling');
    await createPost(gateway, await gateway.token(CAROL, ACME), title);
    await log.waitFor((e) => titleOf(e) === title, 5000, 'the event written after idling');
    assert.equal(
      connected,
      1,
      `the client connected ${connected} times (closes: ${JSON.stringify(closes)}): the idle connection was dropped and re-established`,
    );
    assert.deepEqual(closes, [], 'the connection was closed while idle');
    assert.ok(
      serverPings >= 1,
      `the server sent no ping in 8 s of idling with ROWGATE_WS_KEEPALIVE_SECS=2 (pings received: ${serverPings})`,
    );
    log.dispose();
  });

  test('a peer that never answers the pings is disconnected', async () => {
    // A bare socket speaking graphql-transport-ws that answers nothing after the ack: neither
    // the protocol's `ping` messages nor WebSocket ping frames (as a peer whose network is gone).
    const bob = await gateway.token(BOB, ACME);
    // Three silent intervals of 2 s, plus a margin for timers on a loaded machine.
    const { received, outcome } = await silentPeer(gateway, 'graphql-transport-ws', bob, 12_000);
    assert.ok(received.includes('connection_ack'), `no ack: ${JSON.stringify(received)}`);
    assert.ok(received.includes('ping'), `the server sent no ping: ${JSON.stringify(received)}`);
    assert.ok(outcome, `a peer silent for 12 s (6 intervals) is still connected; server sent ${JSON.stringify(received)}`);
    assert.ok(outcome.after >= 4000, `closed after only ${outcome.after} ms: ${JSON.stringify(outcome)}`);
  });
});
