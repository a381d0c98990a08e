// urql 6 core client: queries and mutations through fetchExchange (queries by GET, as urql
// sends them when the URL is short enough), subscriptions through subscriptionExchange over
// graphql-ws, and errors as CombinedError with the server's `extensions.code`.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, CombinedError, cacheExchange, fetchExchange, gql, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  ACME,
  BOB,
  CAROL,
  EventLog,
  createPost,
  post,
  primeSubscriptions,
  startGateway,
  unique,
} from '../harness.mjs';

function urqlClient(gateway, token) {
  const ws = createWsClient({
    url: gateway.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
  });
  const client = new Client({
    url: gateway.graphqlUrl,
    fetchOptions: () => ({ headers: token ? { authorization: `Bearer ${token}` } : {} }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  client.ws = ws;
  return client;
}

describe('urql 6', () => {
  let gateway;
  let bob;
  let anonymous;
  before(async () => {
    gateway = await startGateway();
    bob = urqlClient(gateway, await gateway.token(BOB, ACME));
    anonymous = urqlClient(gateway, null);
  });
  after(async () => {
    await bob?.ws.dispose();
    await anonymous?.ws.dispose();
    await gateway?.stop();
  });

  test('a query returns the rows bob may read', async () => {
    const result = await bob
      .query(
        gql`
          query Roadmap($id: UUID!) {
            post(id: $id) {
              id
              title
              tenantId
            }
            posts(filter: { title: { startsWith: "Heidi" } }) {
              totalCount
            }
          }
        `,
        { id: post(2) },
        { requestPolicy: 'network-only' },
      )
      .toPromise();
    assert.equal(result.error, undefined, String(result.error));
    assert.deepEqual(result.data.post, { __typename: 'Post', id: post(2), title: 'Q3 roadmap', tenantId: ACME });
    assert.equal(result.data.posts.totalCount, 0, 'bob blocked heidi: none of her posts');
  });

  test('a mutation writes and answers the written row', async () => {
    const body = unique('urql comment');
    const result = await bob
      .mutation(
        gql`
          mutation AddComment($postId: UUID!, $body: String!) {
            createComment(input: { postId: $postId, body: $body }) {
              id
              body
              authorId
            }
          }
        `,
        { postId: post(2), body },
      )
      .toPromise();
    assert.equal(result.error, undefined, String(result.error));
    assert.equal(result.data.createComment.body, body);
    assert.equal(result.data.createComment.authorId, BOB);

    const { body: read } = await gateway.gql(
      'query($id: UUID!) { comment(id: $id) { body } }',
      { id: result.data.createComment.id },
      await gateway.token(BOB, ACME),
    );
    assert.equal(read.data?.comment?.body, body, JSON.stringify(read));
  });

  test('a subscription receives the event of a mutation', async () => {
    const log = new EventLog('urql subscription');
    const { unsubscribe } = bob
      .subscription(gql`
        subscription {
          postChanged {
            op
            node {
              id
              title
            }
          }
        }
      `)
      .subscribe((result) => (result.error ? log.fail(result.error) : log.push(result.data)));
    try {
      const titleOf = (e) => e?.postChanged?.node?.title;
      await primeSubscriptions(gateway, [log], titleOf);
      const title = unique('urql live');
      const id = await createPost(gateway, await gateway.token(CAROL, ACME), title);
      const event = await log.waitFor((e) => titleOf(e) === title, 5000, `event for "${title}"`);
      assert.equal(event.postChanged.op, 'INSERT');
      assert.equal(event.postChanged.node.id, id);
    } finally {
      unsubscribe();
    }
  });

  test('errors arrive as CombinedError with extensions.code', async () => {
    const forbidden = await bob
      .mutation(
        gql`
          mutation Retitle($id: UUID!) {
            updatePost(id: $id, patch: { title: "mine now" }) {
              id
            }
          }
        `,
        { id: post(2) },
      )
      .toPromise();
    assert.ok(forbidden.error instanceof CombinedError, `expected a CombinedError, got ${JSON.stringify(forbidden)}`);
    assert.equal(forbidden.error.networkError, undefined, String(forbidden.error.networkError));
    assert.equal(forbidden.error.graphQLErrors[0]?.extensions?.code, 'FORBIDDEN', forbidden.error.message);

    const unauthenticated = await anonymous
      .mutation(gql`mutation { markAllNotificationsRead }`, {})
      .toPromise();
    assert.ok(unauthenticated.error instanceof CombinedError, JSON.stringify(unauthenticated));
    assert.equal(unauthenticated.error.graphQLErrors[0]?.extensions?.code, 'UNAUTHENTICATED', unauthenticated.error.message);
  });
});
