// The legacy subscriptions-transport-ws client (protocol `graphql-ws`), default options except
// `reconnect: false`: events arrive, and an idle connection survives because the server sends
// `ka` keep-alive messages (ROWGATE_WS_KEEPALIVE_SECS).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SubscriptionClient } from 'subscriptions-transport-ws';
import WebSocket from 'ws';
import {
  ACME,
  BOB,
  CAROL,
  EventLog,
  createPost,
  primeSubscriptions,
  sleep,
  startGateway,
  silentPeer,
  unique,
} from '../harness.mjs';

const POSTS = 'subscription { postChanged { op node { title tenantId } } }';
const titleOf = (event) => event?.postChanged?.node?.title;

/**
 * A legacy client whose socket records every protocol message type the server sends
 * (the client itself swallows `ka`).
 */
function legacyClient(gateway, token) {
  const received = [];
  class RecordingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      this.on('message', (data) => {
        try {
          received.push(JSON.parse(data.toString()).type);
        } catch {
          received.push(`unparsable: ${data}`);
        }
      });
    }
  }
  const client = new SubscriptionClient(
    gateway.wsUrl,
    { reconnect: false, connectionParams: { Authorization: `Bearer ${token}` } },
    RecordingWebSocket,
  );
  const state = { connected: 0, disconnected: 0, errors: [], received };
  client.onConnected(() => state.connected++);
  client.onDisconnected(() => state.disconnected++);
  client.onError((error) => state.errors.push(String(error?.message ?? error)));
  return { client, state };
}

function subscribe(client, query, label) {
  const log = new EventLog(label);
  const subscription = client.request({ query }).subscribe({
    next: (result) => (result.errors ? log.fail(JSON.stringify(result.errors)) : log.push(result.data)),
    error: (error) => log.fail(JSON.stringify(error)),
    complete: () => log.fail('completed'),
  });
  log.dispose = () => subscription.unsubscribe();
  return log;
}

describe('subscriptions-transport-ws against the default gateway', () => {
  let gateway;
  let legacy;
  before(async () => {
    gateway = await startGateway();
  });
  after(async () => {
    legacy?.client.close();
    await gateway?.stop();
  });

  test('a subscription receives the event of a mutation', async () => {
    legacy = legacyClient(gateway, await gateway.token(BOB, ACME));
    const log = subscribe(legacy.client, POSTS, 'bob (legacy)');
    await primeSubscriptions(gateway, [log], titleOf);

    const title = unique('Legacy news');
    await createPost(gateway, await gateway.token(CAROL, ACME), title);
    const event = await log.waitFor((e) => titleOf(e) === title, 5000, `event for "${title}"`);
    assert.equal(event.postChanged.op, 'INSERT');
    assert.equal(event.postChanged.node.tenantId, ACME);
    assert.equal(legacy.state.connected, 1, 'connection_ack received once');
    assert.ok(legacy.state.received.includes('connection_ack'), JSON.stringify(legacy.state.received));
    log.dispose();
  });
});

describe('subscriptions-transport-ws keep-alive (ROWGATE_WS_KEEPALIVE_SECS=2)', () => {
  let gateway;
  let legacy;
  before(async () => {
    gateway = await startGateway({ env: { ROWGATE_WS_KEEPALIVE_SECS: '2' } });
  });
  after(async () => {
    legacy?.client.close();
    await gateway?.stop();
  });

  test('an idle connection stays up, receives events and gets `ka` messages', async () => {
    legacy = legacyClient(gateway, await gateway.token(BOB, ACME));
    const log = subscribe(legacy.client, POSTS, 'bob (legacy)');
    await primeSubscriptions(gateway, [log], titleOf);
    const kaBefore = legacy.state.received.filter((t) => t === 'ka').length;

    // Idle for longer than three keep-alive intervals.
    await sleep(8000);
    const kaWhileIdle = legacy.state.received.filter((t) => t === 'ka').length - kaBefore;
    assert.equal(
      legacy.state.disconnected,
      0,
      `the client was disconnected while idle (server messages: ${JSON.stringify(legacy.state.received)})`,
    );

    const title = unique('Legacy after idling');
    await createPost(gateway, await gateway.token(CAROL, ACME), title);
    await log.waitFor((e) => titleOf(e) === title, 5000, 'the event written after idling');
    assert.equal(legacy.state.connected, 1, 'connected once, never again');
    assert.equal(legacy.state.disconnected, 0, 'never disconnected');
    assert.ok(
      kaWhileIdle >= 2,
      `expected a \`ka\` every 2 s while idle (at least 2 in 8 s), got ${kaWhileIdle}; ` +
        `server message types: ${JSON.stringify(legacy.state.received)}`,
    );
    log.dispose();
  });

  test('a peer that answers no WebSocket ping is disconnected', async () => {
    // The legacy protocol has no pong message: the server can only tell a live peer by its
    // answers to WebSocket ping frames. This socket answers none (as a peer whose network is gone).
    const bob = await gateway.token(BOB, ACME);
    // Three silent intervals of 2 s, plus a margin for timers on a loaded machine.
    const { received, outcome } = await silentPeer(gateway, 'graphql-ws', bob, 12_000);
    assert.ok(received.includes('connection_ack'), `no ack: ${JSON.stringify(received)}`);
    assert.ok(outcome, `a peer silent for 12 s (6 intervals) is still connected; server sent ${JSON.stringify(received)}`);
    assert.ok(outcome.after >= 4000, `closed after only ${outcome.after} ms: ${JSON.stringify(outcome)}`);
  });
});
