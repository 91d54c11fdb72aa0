import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { checkLimitsInput, hasAnyLimit, limitsFromJson, limitsToJson, NO_LIMITS } from './limits.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return AppError.isInstance(error) ? { code: error.code, field: error.details?.field } : error;
  }
  return undefined;
};

describe('limits', () => {
  it('fills absent fields with null and keeps set ones', () => {
    expect(checkLimitsInput({ requestsPerMinute: 30, dailyBudgetUsd: 1.5 })).toEqual({
      ...NO_LIMITS,
      requestsPerMinute: 30,
      dailyBudgetUsd: 1.5,
    });
    expect(checkLimitsInput(null)).toEqual(NO_LIMITS);
  });

  it.each([
    [{ requestsPerMinute: -1 }, 'requestsPerMinute'],
    [{ requestsPerMinute: 1.5 }, 'requestsPerMinute'],
    [{ tokensPerMinute: 1e13 }, 'tokensPerMinute'],
    [{ concurrentStreams: 100_001 }, 'concurrentStreams'],
    [{ dailyBudgetUsd: -0.01 }, 'dailyBudgetUsd'],
    [{ monthlyBudgetUsd: 2e6 }, 'monthlyBudgetUsd'],
    [{ monthlyBudgetUsd: Number.POSITIVE_INFINITY }, 'monthlyBudgetUsd'],
    [{ requestsPerMinute: '30' }, 'requestsPerMinute'],
  ])('refuses %j as BAD_USER_INPUT naming the field', (input, field) => {
    expect(codeOf(() => checkLimitsInput(input))).toEqual({ code: 'BAD_USER_INPUT', field });
  });

  it('stores only set fields, and nothing when none is set', () => {
    expect(limitsToJson({ ...NO_LIMITS, concurrentStreams: 2 })).toEqual({ concurrentStreams: 2 });
    expect(limitsToJson(NO_LIMITS)).toBeNull();
  });

  it('reads stored JSON defensively', () => {
    expect(limitsFromJson({ requestsPerMinute: 5 })).toEqual({ ...NO_LIMITS, requestsPerMinute: 5 });
    expect(limitsFromJson(null)).toBeNull();
    expect(limitsFromJson({ requestsPerMinute: 'lots' })).toBeNull();
    expect(limitsFromJson(['x'])).toBeNull();
  });

  it('knows when a subject is limited at all', () => {
    expect(hasAnyLimit(NO_LIMITS)).toBe(false);
    expect(hasAnyLimit(null)).toBe(false);
    expect(hasAnyLimit({ ...NO_LIMITS, monthlyBudgetUsd: 0 })).toBe(true);
  });
});
