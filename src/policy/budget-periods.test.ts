import { describe, expect, it } from 'vitest';
import { budgetPeriods, periodBounds } from './budget-periods.js';

describe('budget periods (UTC)', () => {
  it('names the day and month and when each ends', () => {
    const now = Date.UTC(2026, 11, 31, 23, 59, 59, 999);
    expect(budgetPeriods(now)).toEqual({
      day: '2026-12-31',
      month: '2026-12',
      dayEndsAt: Date.UTC(2027, 0, 1),
      monthEndsAt: Date.UTC(2027, 0, 1),
    });
    expect(budgetPeriods(Date.UTC(2028, 1, 29, 12)).monthEndsAt).toBe(Date.UTC(2028, 2, 1));
  });

  it('gives the bounds the ledger is read between', () => {
    expect(periodBounds('2026-02')).toEqual({
      from: new Date('2026-02-01T00:00:00Z'),
      to: new Date('2026-03-01T00:00:00Z'),
    });
    expect(periodBounds('2026-02-28')).toEqual({
      from: new Date('2026-02-28T00:00:00Z'),
      to: new Date('2026-03-01T00:00:00Z'),
    });
  });
});
