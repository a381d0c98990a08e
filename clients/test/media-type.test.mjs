// `application/graphql-response+json` (GraphQL over HTTP): a request failing before execution
// answers a 4xx with `{errors}` and no `data`; under `application/json` GraphQL's own errors
// stay HTTP 200; and Apollo Client 4, which asks for the new media type first and reads its
// error bodies, sees a refused token as a GraphQL error with UNAUTHENTICATED.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { startGateway } from '../harness.mjs';

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

describe('media types of POST /graphql', () => {
  let gateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(async () => {
    await gateway?.stop();
  });

  async function send(body, accept, extraHeaders = {}) {
    const response = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...extraHeaders },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const contentType = response.headers.get('content-type') ?? '';
    return { status: response.status, contentType, text, json, what: `HTTP ${response.status} ${contentType}: ${text}` };
  }

  test('a valid query: 200 with application/graphql-response+json', async () => {
    const r = await send({ query: '{ __typename publicConfig }' }, GRAPHQL_RESPONSE);
    assert.equal(r.status, 200, r.what);
    assert.ok(r.contentType.startsWith(GRAPHQL_RESPONSE), r.what);
    assert.equal(r.json?.data?.__typename, 'Query', r.what);
    assert.equal(r.json?.errors, undefined, r.what);
  });

  test('a parse error: 400, errors[0].message is one sentence with line and column, no data', async () => {
    const r = await send({ query: '{ me { userId ' }, GRAPHQL_RESPONSE);
    assert.equal(r.status, 400, r.what);
    assert.ok(r.contentType.startsWith(GRAPHQL_RESPONSE), r.what);
    assert.ok(r.json && !('data' in r.json), `no \`data\` key expected: ${r.what}`);
    const message = r.json.errors?.[0]?.message;
    assert.equal(typeof message, 'string', r.what);
    assert.ok(!message.includes('\n'), `the message spans several lines: ${JSON.stringify(message)}`);
    assert.ok(!/-->|\^-|\s\|\s/.test(message), `the message draws a caret diagram: ${JSON.stringify(message)}`);
    assert.match(message, /line\s*\d+/i, `the message names no line: ${JSON.stringify(message)}`);
    assert.match(message, /column\s*\d+/i, `the message names no column: ${JSON.stringify(message)}`);
  });

  test('a validation error (unknown field): 400 without data', async () => {
    const r = await send({ query: '{ noSuchField }' }, GRAPHQL_RESPONSE);
    assert.equal(r.status, 400, r.what);
    assert.ok(r.contentType.startsWith(GRAPHQL_RESPONSE), r.what);
    assert.ok(r.json && !('data' in r.json), `no \`data\` key expected: ${r.what}`);
    assert.match(r.json.errors?.[0]?.message ?? '', /noSuchField/, r.what);
  });

  test('a request without `query`: 400', async () => {
    const r = await send({ variables: {} }, GRAPHQL_RESPONSE);
    assert.equal(r.status, 400, r.what);
    assert.ok(Array.isArray(r.json?.errors) && r.json.errors.length > 0, r.what);
    assert.ok(!('data' in r.json), `no \`data\` key expected: ${r.what}`);
  });

  test('under Accept: application/json the same parse error is 200 application/json', async () => {
    const r = await send({ query: '{ me { userId ' }, 'application/json');
    assert.equal(r.status, 200, r.what);
    assert.ok(r.contentType.startsWith('application/json'), r.what);
    assert.ok(Array.isArray(r.json?.errors) && r.json.errors.length > 0, r.what);
    assert.equal(r.json.errors[0].extensions?.code, 'BAD_USER_INPUT', r.what);
  });

  test('Apollo Client 4 reads a 401 for an invalid token as UNAUTHENTICATED', async () => {
    // The premise, without Apollo: the server answers 401 to a bad token.
    const raw = await send({ query: '{ me { userId } }' }, `${GRAPHQL_RESPONSE},application/json;q=0.9`, {
      authorization: 'Bearer not.a.token',
    });
    assert.equal(raw.status, 401, raw.what);

    const client = new ApolloClient({
      link: new HttpLink({ uri: gateway.graphqlUrl, headers: { authorization: 'Bearer not.a.token' } }),
      cache: new InMemoryCache(),
    });
    let error;
    try {
      const result = await client.query({ query: gql`{ me { userId } }`, fetchPolicy: 'network-only' });
      assert.fail(`the query with an invalid token succeeded: ${JSON.stringify(result)}`);
    } catch (caught) {
      error = caught;
    } finally {
      client.stop();
    }
    assert.ok(
      CombinedGraphQLErrors.is(error),
      `Apollo saw ${error?.constructor?.name} (${error?.message}) instead of GraphQL errors; ` +
        `the server answered ${raw.what}`,
    );
    assert.equal(error.errors[0]?.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(error.errors));
  });
});
