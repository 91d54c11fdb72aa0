import { describe, expect, it } from 'vitest';
import { routeLabel } from '../../src/metrics/http-route.js';

describe('routeLabel', () => {
  it('maps request URLs onto the fixed set of routes, anything else to other', () => {
    expect(
      [
        '/graphql',
        '/graphql?query=%7B__typename%7D',
        '/v1/chat/completions',
        '/v1/messages',
        '/v1/messages/count_tokens',
        '/v1/embeddings',
        '/v1/models',
        '/v1/models/gpt-4o',
        '/health/live',
        '/health/ready',
        '/metrics',
        '/metrics?x=1',
        '/',
        '/wp-admin/../../etc/passwd',
        '/graphql/extra',
        undefined,
      ].map(routeLabel),
    ).toEqual([
      '/graphql',
      '/graphql',
      '/v1/chat/completions',
      '/v1/messages',
      'other',
      '/v1/embeddings',
      '/v1/models',
      '/v1/models',
      '/health/*',
      '/health/*',
      '/metrics',
      '/metrics',
      'other',
      'other',
      'other',
      'other',
    ]);
  });
});
