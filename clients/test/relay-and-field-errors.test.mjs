// Apollo Client 4 with the Relay conventions the gateway serves: every type normalized by its
// opaque `nodeId` (composite-key types too, which have no `id`), `node(nodeId:)` reading a row
// back into the same cache entry and `null` for a row the principal may not read; and field
// errors as the GraphQL specification places them — each with `path` and `locations`, a failed
// non-null field nulling its nearest nullable parent while the rest of the data stays.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { ACME, BOB, HEIDI, startGateway } from '../harness.mjs';

const NODE_TYPES = ['Post', 'Reaction', 'Profile', 'Comment'];

function relayClient(gateway, token) {
  return new ApolloClient({
    link: new HttpLink({ uri: gateway.graphqlUrl, headers: { authorization: `Bearer ${token}` } }),
    cache: new InMemoryCache({
      possibleTypes: { Node: NODE_TYPES },
      typePolicies: Object.fromEntries(NODE_TYPES.map((type) => [type, { keyFields: ['nodeId'] }])),
    }),
  });
}

const POSTS_WITH_REACTIONS = gql`
  query RelayPosts {
    posts(first: 5, orderBy: [CREATED_AT_ASC], filter: { reactions: { some: {} } }) {
      nodes {
        nodeId
        id
        title
        reactions(first: 10) {
          nodes {
            nodeId
            postId
            userId
            emoji
          }
        }
      }
    }
  }
`;

const NODE = gql`
  query RelayNode($id: ID!) {
    node(nodeId: $id) {
      __typename
      nodeId
      ... on Post {
        id
        title
      }
    }
  }
`;

describe('Relay ids and field errors (Apollo Client 4)', () => {
  let gateway;
  let bobToken;
  const clients = [];
  before(async () => {
    gateway = await startGateway();
    bobToken = await gateway.token(BOB, ACME);
  });
  after(async () => {
    for (const client of clients) client.stop();
    await gateway?.stop();
  });

  test('every type, composite keys included, is normalized by nodeId', async () => {
    const client = relayClient(gateway, bobToken);
    clients.push(client);
    const { data } = await client.query({ query: POSTS_WITH_REACTIONS });
    const reactions = data.posts.nodes.flatMap((p) => p.reactions.nodes);
    assert.ok(data.posts.nodes.length >= 1, JSON.stringify(data));
    assert.ok(reactions.length >= 1, 'the demo data has reactions bob can read');
    const stored = client.cache.extract();
    for (const item of [...data.posts.nodes, ...reactions]) {
      assert.equal(typeof item.nodeId, 'string');
      const id = client.cache.identify(item);
      assert.equal(id, `${item.__typename}:${JSON.stringify({ nodeId: item.nodeId })}`);
      assert.ok(stored[id], `${id} is its own cache entry`);
    }
    // Opaque and globally unique: no two rows of any type share one.
    const ids = [...data.posts.nodes, ...reactions].map((r) => r.nodeId);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('node(nodeId:) reads a row back into the same cache entry, under the read policy', async () => {
    const client = relayClient(gateway, bobToken);
    clients.push(client);
    // Deny first: a post of heidi's (bob blocked her) is null for bob, though heidi reads it.
    const heidi = relayClient(gateway, await gateway.token(HEIDI, ACME));
    clients.push(heidi);
    const hers = await heidi.query({
      query: gql`
        query HeidisPosts($me: UUID!) {
          posts(first: 1, filter: { authorId: { eq: $me }, status: { eq: PUBLISHED } }) {
            nodes {
              nodeId
              title
            }
          }
        }
      `,
      variables: { me: HEIDI },
    });
    const heidisPost = hers.data.posts.nodes[0];
    assert.ok(heidisPost, 'heidi has a published post');
    const denied = await client.query({ query: NODE, variables: { id: heidisPost.nodeId } });
    assert.equal(denied.data.node, null);

    const { data } = await client.query({ query: POSTS_WITH_REACTIONS });
    const first = data.posts.nodes[0];
    const read = await client.query({ query: NODE, variables: { id: first.nodeId }, fetchPolicy: 'network-only' });
    assert.equal(read.data.node.__typename, 'Post');
    assert.equal(read.data.node.id, first.id);
    assert.equal(read.data.node.title, first.title);
    assert.equal(client.cache.identify(read.data.node), client.cache.identify(first));
  });

  test('field errors carry path and locations, and null their nearest nullable parent', async () => {
    const client = relayClient(gateway, bobToken);
    clients.push(client);
    const { data, error } = await client.query({
      query: gql`
        query OverThePageCap {
          posts(first: 2, orderBy: [CREATED_AT_ASC]) {
            totalCount
            nodes {
              nodeId
              title
              author {
                nodeId
                posts(first: 1000) {
                  totalCount
                }
              }
            }
          }
        }
      `,
      errorPolicy: 'all',
    });
    assert.ok(error, 'the errors reach the client');
    assert.equal(data.posts.nodes.length, 2, JSON.stringify(data));
    assert.equal(typeof data.posts.totalCount, 'number');
    data.posts.nodes.forEach((node, i) => {
      assert.equal(typeof node.title, 'string', 'the rest of the node stays');
      assert.equal(node.author, null, 'the nullable author holding the failed connection is null');
      const fieldError = error.errors.find(
        (e) => JSON.stringify(e.path) === JSON.stringify(['posts', 'nodes', i, 'author', 'posts']),
      );
      assert.ok(fieldError, `an error at node ${i}: ${JSON.stringify(error.errors)}`);
      assert.equal(fieldError.extensions.code, 'BAD_USER_INPUT');
      assert.ok(fieldError.locations[0].line >= 1 && fieldError.locations[0].column >= 1);
    });
  });
});
