import { describe, expect, it } from 'vitest';
import { titleFrom } from './conversation-title.js';

describe('titleFrom', () => {
  it("is the first message's first non-blank line, its whitespace collapsed", () => {
    expect(titleFrom('Plan a trip')).toBe('Plan a trip');
    expect(titleFrom('\n\n  Plan  a\ttrip  \nto Lisbon in May')).toBe('Plan a trip');
  });

  it('names a blank message "New conversation"', () => {
    expect(titleFrom('')).toBe('New conversation');
    expect(titleFrom(' \n\t\n ')).toBe('New conversation');
  });

  it('keeps a line of 60 characters whole', () => {
    const line = `${'x'.repeat(50)} ${'y'.repeat(9)}`;
    expect(line).toHaveLength(60);
    expect(titleFrom(line)).toBe(line);
  });

  it('cuts a longer line at its last space within 60 characters, with an ellipsis', () => {
    const line = 'Compare the latency and the price of every provider we route chat requests to';
    expect(titleFrom(line)).toBe('Compare the latency and the price of every provider we…');
  });

  it('cuts inside a word when the last space would leave less than half', () => {
    expect(titleFrom(`Why ${'a'.repeat(100)}`)).toBe(`Why ${'a'.repeat(56)}…`);
    expect(titleFrom('b'.repeat(100))).toBe(`${'b'.repeat(60)}…`);
  });
});
