import { describe, expect, it } from 'vitest';
import { requestIdFrom } from './request-id.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('requestIdFrom', () => {
  it("keeps the client's id when it is 1-128 safe characters", () => {
    for (const id of ['trace-1.2:3_x', 'a', 'x'.repeat(128), '0af7651916cd43dd8448eb211c80319c'])
      expect(requestIdFrom(id)).toBe(id);
  });

  it('makes a new UUID when there is none, or it is too long or holds anything else', () => {
    for (const header of [null, undefined, '', 'x'.repeat(129), 'a b', '"}{"level":"info', '<script>', 'a\nb', 'é'])
      expect(requestIdFrom(header)).toMatch(UUID);
    expect(requestIdFrom(null)).not.toBe(requestIdFrom(null));
  });
});
