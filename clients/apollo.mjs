// What the Apollo Client tests share.

import assert from 'node:assert/strict';
import { CombinedGraphQLErrors } from '@apollo/client';

/** The rejection of `promise`, asserted to be CombinedGraphQLErrors. */
export async function graphQLErrorsOf(promise) {
  try {
    const result = await promise;
    assert.fail(`expected GraphQL errors, got ${JSON.stringify(result)}`);
  } catch (error) {
    assert.ok(
      CombinedGraphQLErrors.is(error),
      `expected CombinedGraphQLErrors, got ${error?.constructor?.name}: ${error?.message}`,
    );
    return error;
  }
}
