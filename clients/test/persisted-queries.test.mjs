// Apollo Client 4's PersistedQueryLink (automatic persisted queries) against the gateway: the
// first request of a document sends its hash alone and gets PERSISTED_QUERY_NOT_FOUND, the link
// resends it with the document, and from then on any client — a fresh one, over GET too — sends
// the hash alone. With ROWGATE_PERSISTED_QUERIES=allowlist only the manifest's documents run;
// with `off` the link falls back to full documents by itself.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { ACME, BOB, startGateway } from '../harness.mjs';
import { graphQLErrorsOf } from '../apollo.mjs';

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

const ME = gql`
  query PersistedMe {
    me {
      userId
      activeTenantId
    }
  }
`;
const TITLES = gql`
  query PersistedTitles {
    posts(first: 2, orderBy: [CREATED_AT_ASC]) {
      nodes {
        id
        title
      }
    }
  }
`;

/**
 * An Apollo client whose every HTTP request is recorded as `{ method, query, hash }`: whether
 * the document travelled, and the hash the link sent.
 */
function recordingClient(gateway, token, { useGET = false } = {}) {
  const requests = [];
  const recordingFetch = async (input, init = {}) => {
    const url = new URL(String(input));
    let query;
    let extensions;
    if ((init.method ?? 'GET') === 'GET') {
      query = url.searchParams.get('query') ?? undefined;
      const text = url.searchParams.get('extensions');
      extensions = text ? JSON.parse(text) : undefined;
    } else {
      const body = JSON.parse(init.body);
      ({ query, extensions } = body);
    }
    requests.push({
      method: init.method ?? 'GET',
      query,
      hash: extensions?.persistedQuery?.sha256Hash,
    });
    return fetch(input, init);
  };
  const link = new PersistedQueryLink({ sha256, useGETForHashedQueries: useGET }).concat(
    new HttpLink({
      uri: gateway.graphqlUrl,
      headers: { authorization: `Bearer ${token}` },
      fetch: recordingFetch,
    }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  return { client, requests };
}

describe('automatic persisted queries (Apollo PersistedQueryLink)', () => {
  let gateway;
  let token;
  // The documents as the link sent them (after Apollo's own transforms), for the allow-list.
  const sent = new Map();
  const clients = [];
  before(async () => {
    gateway = await startGateway();
    token = await gateway.token(BOB, ACME);
  });
  after(async () => {
    for (const client of clients) client.stop();
    await gateway?.stop();
  });

  test('a new document: hash alone, PERSISTED_QUERY_NOT_FOUND, then hash and document', async () => {
    // Deny first: a hash the gateway never saw is not found (and runs nothing).
    const unknown = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ me { userId } }') } } }),
    });
    assert.equal(unknown.status, 200);
    const body = await unknown.json();
    assert.equal(body.errors[0].extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
    assert.equal(body.errors[0].message, 'PersistedQueryNotFound');
    assert.equal(body.data, undefined);

    const { client, requests } = recordingClient(gateway, token);
    clients.push(client);
    const { data } = await client.query({ query: ME });
    assert.equal(data.me.userId, BOB);
    assert.equal(data.me.activeTenantId, ACME);
    assert.equal(requests.length, 2, JSON.stringify(requests));
    assert.equal(requests[0].query, undefined, 'the first request carries the hash alone');
    assert.ok(requests[1].query, 'the retry carries the document');
    assert.equal(requests[0].hash, sha256(requests[1].query));
    assert.equal(requests[1].hash, requests[0].hash);
    sent.set('me', requests[1].query);
  });

  test('a fresh client sends the hash alone and gets the data in one request', async () => {
    const { client, requests } = recordingClient(gateway, token);
    clients.push(client);
    const { data } = await client.query({ query: ME });
    assert.equal(data.me.userId, BOB);
    assert.deepEqual(requests.map((r) => [r.method, r.query]), [['POST', undefined]]);
  });

  test('useGETForHashedQueries: GET with the hash alone once the document is known', async () => {
    const first = recordingClient(gateway, token, { useGET: true });
    const second = recordingClient(gateway, token, { useGET: true });
    clients.push(first.client, second.client);
    const { data } = await first.client.query({ query: TITLES });
    assert.equal(data.posts.nodes.length, 2);
    assert.equal(data.posts.nodes[0].title, 'Welcome to Acme');
    // GET with the hash (not found), then POST with the document.
    assert.deepEqual(first.requests.map((r) => r.method), ['GET', 'POST']);
    assert.equal(first.requests[0].query, undefined);
    sent.set('titles', first.requests[1].query);
    const again = await second.client.query({ query: TITLES });
    assert.deepEqual(again.data, data);
    assert.deepEqual(second.requests.map((r) => [r.method, r.query]), [['GET', undefined]]);
  });

  describe('ROWGATE_PERSISTED_QUERIES=allowlist', () => {
    let listed;
    let dir;
    let listedToken;
    before(async () => {
      // The manifest a build step writes (Apollo's format), from the documents the client sends.
      dir = mkdtempSync(join(tmpdir(), 'rowgate-manifest-'));
      const manifest = join(dir, 'persisted-query-manifest.json');
      const body = sent.get('me');
      assert.ok(body, 'the automatic test recorded the document');
      writeFileSync(
        manifest,
        JSON.stringify({
          format: 'apollo-persisted-query-manifest',
          version: 1,
          operations: [{ id: sha256(body), name: 'PersistedMe', type: 'query', body }],
        }),
      );
      listed = await startGateway({
        env: { ROWGATE_PERSISTED_QUERIES: 'allowlist', ROWGATE_PERSISTED_QUERIES_MANIFEST: manifest },
      });
      listedToken = await listed.token(BOB, ACME);
    });
    after(async () => {
      await listed?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('a document outside the manifest is refused, by hash and in full', async () => {
      const { client, requests } = recordingClient(listed, listedToken);
      clients.push(client);
      const error = await graphQLErrorsOf(client.query({ query: TITLES }));
      assert.equal(error.errors[0].extensions.code, 'PERSISTED_QUERY_NOT_IN_LIST');
      assert.equal(requests.length, 1, 'the link does not resend a refused document');
      // Sent in full by a client without the link.
      const plain = await listed.gql(sent.get('titles'), {}, listedToken);
      assert.equal(plain.body.errors[0].extensions.code, 'PERSISTED_QUERY_NOT_IN_LIST');
      assert.equal(plain.body.data, undefined);
    });

    test("the manifest's document runs by hash alone", async () => {
      const { client, requests } = recordingClient(listed, listedToken);
      clients.push(client);
      const { data } = await client.query({ query: ME });
      assert.equal(data.me.userId, BOB);
      assert.deepEqual(requests.map((r) => r.query), [undefined]);
    });
  });

  describe('ROWGATE_PERSISTED_QUERIES=off', () => {
    let off;
    let offToken;
    before(async () => {
      off = await startGateway({ env: { ROWGATE_PERSISTED_QUERIES: 'off' } });
      offToken = await off.token(BOB, ACME);
    });
    after(async () => {
      await off?.stop();
    });

    test('the link sees PERSISTED_QUERY_NOT_SUPPORTED and sends full documents from then on', async () => {
      const { client, requests } = recordingClient(off, offToken);
      clients.push(client);
      const { data } = await client.query({ query: ME });
      assert.equal(data.me.userId, BOB);
      assert.equal(requests.length, 2);
      assert.equal(requests[0].query, undefined);
      assert.ok(requests[1].query);
      const titles = await client.query({ query: TITLES });
      assert.equal(titles.data.posts.nodes.length, 2);
      assert.equal(requests.length, 3);
      assert.ok(requests[2].query, 'no hash-only request once the server said it does not support them');
      assert.equal(requests[2].hash, undefined);
    });
  });
});
