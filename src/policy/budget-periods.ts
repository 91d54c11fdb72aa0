import type { BudgetPeriods } from './quota/types.js';

/** The UTC day and calendar month `now` falls in, and when each ends. */
export function budgetPeriods(now: number): BudgetPeriods {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const day = date.getUTCDate();
  const iso = date.toISOString();
  return {
    day: iso.slice(0, 10),
    month: iso.slice(0, 7),
    dayEndsAt: Date.UTC(year, month, day + 1),
    monthEndsAt: Date.UTC(year, month + 1, 1),
  };
}

/** When a period (`YYYY-MM-DD` or `YYYY-MM`) starts and ends, for reading the ledger. */
export function periodBounds(period: string): { from: Date; to: Date } {
  const [year, month, day] = period.split('-').map(Number) as [number, number, number | undefined];
  return day === undefined
    ? { from: new Date(Date.UTC(year, month - 1, 1)), to: new Date(Date.UTC(year, month, 1)) }
    : { from: new Date(Date.UTC(year, month - 1, day)), to: new Date(Date.UTC(year, month - 1, day + 1)) };
}
