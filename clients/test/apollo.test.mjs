// Apollo Client 4 over HttpLink (queries, mutations) and GraphQLWsLink (graphql-ws, for
// subscriptions): data as bob sees it, relay-style pagination merged in the cache, a mutation
// normalized into the cache, errors surfaced as CombinedGraphQLErrors with their code, and a
// subscription event.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApolloClient,
  ApolloLink,
  HttpLink,
  InMemoryCache,
  gql,
} from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { isSubscriptionOperation, relayStylePagination } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
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
import { graphQLErrorsOf } from '../apollo.mjs';

// What bob (member of Acme) reads of the demo posts, newest first: not heidi's (he blocked her),
// not others' drafts, not the General community he is not in. The posts the tests write are all
// carol's, and none of the demo posts bob reads is: the queries leave carol's out, so they see
// the same list whatever ran before them.
const BOB_POSTS = [
  'Globex is hiring',
  'Half-written thoughts',
  'Saturday long run',
  'Q3 roadmap',
  'Welcome to Acme',
];

const POSTS_PAGE = gql`
  query PostsPage($first: Int!, $after: String, $notBy: UUID!) {
    posts(filter: { authorId: { neq: $notBy } }, orderBy: [CREATED_AT_DESC], first: $first, after: $after) {
      totalCount
      edges {
        cursor
        node {
          id
          title
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

function apolloClient(gateway, token) {
  const http = new HttpLink({
    uri: gateway.graphqlUrl,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const wsClient = createClient({
    url: gateway.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
  });
  const link = ApolloLink.split(
    ({ query }) => isSubscriptionOperation(query),
    new GraphQLWsLink(wsClient),
    http,
  );
  const client = new ApolloClient({
    link,
    cache: new InMemoryCache({
      typePolicies: {
        Query: { fields: { posts: relayStylePagination(['orderBy', 'filter']) } },
      },
    }),
  });
  client.wsClient = wsClient;
  return client;
}

describe('Apollo Client 4', () => {
  let gateway;
  let bob;
  let anonymous;
  const clients = [];
  before(async () => {
    gateway = await startGateway();
    bob = apolloClient(gateway, await gateway.token(BOB, ACME));
    anonymous = apolloClient(gateway, null);
    clients.push(bob, anonymous);
  });
  after(async () => {
    for (const client of clients) {
      client?.stop();
      await client?.wsClient.dispose();
    }
    await gateway?.stop();
  });

  test('a query of posts as bob returns what his policies allow', async () => {
    const { data } = await bob.query({
      query: gql`
        query BobsPosts($notBy: UUID!) {
          me {
            userId
            activeTenantId
          }
          posts(filter: { authorId: { neq: $notBy } }, orderBy: [CREATED_AT_DESC], first: 20) {
            totalCount
            nodes {
              id
              title
              authorId
            }
          }
        }
      `,
      variables: { notBy: CAROL },
      fetchPolicy: 'network-only',
    });
    assert.equal(data.me.userId, BOB);
    assert.equal(data.me.activeTenantId, ACME);
    assert.equal(data.posts.totalCount, BOB_POSTS.length);
    assert.deepEqual(
      data.posts.nodes.map((n) => n.title),
      BOB_POSTS,
    );
  });

  test('relay-style pagination: fetchMore with `after` appends pages in the cache', async () => {
    // A client of its own: an empty cache, as on a page load.
    const client = apolloClient(gateway, await gateway.token(BOB, ACME));
    clients.push(client);
    const observable = client.watchQuery({ query: POSTS_PAGE, variables: { first: 2, notBy: CAROL } });
    const emitted = new EventLog('watched PostsPage results');
    const subscription = observable.subscribe({
      next: (result) => (result.error ? emitted.fail(result.error) : emitted.push(result)),
      error: (error) => emitted.fail(error),
    });
    const titlesOf = (result) => result.data?.posts?.edges?.map((e) => e.node.title);
    try {
      const first = await emitted.waitFor((r) => !r.loading && r.data?.posts, 5000, 'first page');
      assert.equal(first.data.posts.totalCount, BOB_POSTS.length);
      assert.deepEqual(
        first.data.posts.edges.map((e) => e.node.title),
        BOB_POSTS.slice(0, 2),
      );
      assert.equal(first.data.posts.pageInfo.hasNextPage, true);

      let pageInfo = first.data.posts.pageInfo;
      let pages = 1;
      while (pageInfo.hasNextPage) {
        const more = await observable.fetchMore({ variables: { after: pageInfo.endCursor } });
        pageInfo = more.data.posts.pageInfo;
        assert.ok(++pages <= 5, 'pagination does not end');
      }
      assert.equal(pages, 3, '5 posts in pages of 2');

      // The cache merged every page into one list, in order, without duplicates.
      const cached = client.readQuery({ query: POSTS_PAGE, variables: { first: 2, notBy: CAROL } });
      assert.deepEqual(
        cached.posts.edges.map((e) => e.node.title),
        BOB_POSTS,
      );
      assert.equal(cached.posts.pageInfo.hasNextPage, false);
      assert.equal(new Set(cached.posts.edges.map((e) => e.cursor)).size, BOB_POSTS.length);
      // And the watching query was given the merged list.
      const merged = await emitted.waitFor(
        (r) => titlesOf(r)?.length === BOB_POSTS.length,
        5000,
        'a result with every page merged',
      );
      assert.deepEqual(titlesOf(merged), BOB_POSTS);
    } finally {
      subscription.unsubscribe();
    }
  });

  test('a mutation (createComment) lands in the normalized cache', async () => {
    const body = unique('Apollo comment');
    const { data } = await bob.mutate({
      mutation: gql`
        mutation AddComment($postId: UUID!, $body: String!) {
          createComment(input: { postId: $postId, body: $body }) {
            id
            body
            postId
            authorId
            tenantId
          }
        }
      `,
      variables: { postId: post(2), body },
    });
    const created = data.createComment;
    assert.equal(created.body, body);
    assert.equal(created.postId, post(2));
    assert.equal(created.authorId, BOB, 'the author comes from the token');
    assert.equal(created.tenantId, ACME, 'the tenant comes from the token');

    const id = bob.cache.identify({ __typename: 'Comment', id: created.id });
    assert.equal(id, `Comment:${created.id}`);
    const cached = bob.cache.readFragment({
      id,
      fragment: gql`
        fragment CachedComment on Comment {
          id
          body
          authorId
        }
      `,
    });
    assert.deepEqual(
      { id: cached?.id, body: cached?.body, authorId: cached?.authorId },
      { id: created.id, body, authorId: BOB },
    );

    // The server really stored it: a network query reads it back.
    const { data: read } = await bob.query({
      query: gql`
        query Comments($postId: UUID!) {
          comments(filter: { postId: { eq: $postId } }) {
            nodes {
              id
              body
            }
          }
        }
      `,
      variables: { postId: post(2) },
      fetchPolicy: 'network-only',
    });
    assert.ok(
      read.comments.nodes.some((n) => n.id === created.id && n.body === body),
      JSON.stringify(read.comments.nodes),
    );
  });

  test('a write without a token is UNAUTHENTICATED, a forbidden write FORBIDDEN', async () => {
    const unauthenticated = await graphQLErrorsOf(
      anonymous.mutate({ mutation: gql`mutation { markAllNotificationsRead }` }),
    );
    assert.equal(unauthenticated.errors[0].extensions?.code, 'UNAUTHENTICATED', JSON.stringify(unauthenticated.errors));

    // Bob may read alice's "Q3 roadmap" but not change it.
    const forbidden = await graphQLErrorsOf(
      bob.mutate({
        mutation: gql`
          mutation Retitle($id: UUID!) {
            updatePost(id: $id, patch: { title: "mine now" }) {
              id
              title
            }
          }
        `,
        variables: { id: post(2) },
      }),
    );
    assert.equal(forbidden.errors[0].extensions?.code, 'FORBIDDEN', JSON.stringify(forbidden.errors));

    // Nothing changed.
    const { body } = await gateway.gql('query($id: UUID!) { post(id: $id) { title } }', { id: post(2) }, await gateway.token(BOB, ACME));
    assert.equal(body.data.post.title, 'Q3 roadmap');
  });

  test('a subscription over GraphQLWsLink receives the event of a mutation', async () => {
    const log = new EventLog('apollo subscription');
    const subscription = bob
      .subscribe({
        query: gql`
          subscription {
            postChanged {
              op
              node {
                id
                title
              }
            }
          }
        `,
      })
      .subscribe({
        next: (result) => (result.error ? log.fail(result.error) : log.push(result.data)),
        error: (error) => log.fail(error),
      });
    try {
      const titleOf = (e) => e?.postChanged?.node?.title;
      await primeSubscriptions(gateway, [log], titleOf);
      const title = unique('Apollo live');
      const id = await createPost(gateway, await gateway.token(CAROL, ACME), title);
      const event = await log.waitFor((e) => titleOf(e) === title, 5000, `event for "${title}"`);
      assert.equal(event.postChanged.op, 'INSERT');
      assert.equal(event.postChanged.node.id, id);
    } finally {
      subscription.unsubscribe();
    }
  });
});
