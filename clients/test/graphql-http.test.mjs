// The GraphQL-over-HTTP conformance audits of graphql-http (`serverAudits`) against /graphql:
// every MUST and every SHOULD audit passes. (MAY audits are run and listed, not required.)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAudits } from 'graphql-http';
import { startGateway } from '../harness.mjs';

describe('graphql-http serverAudits', () => {
  let gateway;
  let results = [];
  before(async () => {
    gateway = await startGateway();
    const audits = serverAudits({ url: gateway.graphqlUrl, fetchFn: fetch });
    // One at a time: the audits are small requests, and the suite runs on two cores.
    for (const audit of audits) {
      let result;
      try {
        result = await audit.fn();
      } catch (error) {
        result = { id: audit.id, name: audit.name, status: 'error', reason: `audit threw: ${error?.message ?? error}` };
      }
      results.push(result);
    }
  });
  after(async () => {
    await gateway?.stop();
  });

  const failing = (level) =>
    results.filter((r) => r.name.startsWith(`${level} `) && r.status !== 'ok');

  const describeFailures = (list) =>
    list
      .map((r) => {
        let detail = r.reason ?? '';
        if (r.response) detail += ` [HTTP ${r.response.status} ${r.response.headers?.get?.('content-type') ?? ''}]`;
        return `- ${r.id} ${r.name}: ${detail}`;
      })
      .join('\n');

  test('the audits ran', () => {
    assert.ok(results.length > 20, `only ${results.length} audits ran`);
    assert.ok(results.some((r) => r.name.startsWith('MUST ')), 'no MUST audit');
    assert.ok(results.some((r) => r.name.startsWith('SHOULD ')), 'no SHOULD audit');
  });

  test('every MUST audit passes', () => {
    const bad = failing('MUST');
    assert.equal(bad.length, 0, `${bad.length} MUST audit(s) failed:\n${describeFailures(bad)}`);
  });

  test('every SHOULD audit passes', () => {
    const bad = failing('SHOULD');
    assert.equal(bad.length, 0, `${bad.length} SHOULD audit(s) failed:\n${describeFailures(bad)}`);
  });
});
