import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Lua behind the Redis quota store. Each check-and-record is one script, so it is atomic
 * across instances, and every script reads the Redis server's clock (TIME), so instances with
 * skewed clocks agree. No loop runs over a window's entries: the request log and the leases are
 * sorted sets purged by ZREMRANGEBYSCORE, token windows are at most 62 one-second buckets, and
 * expired budget holds are purged at most PURGE_HOLDS per call.
 *
 * Keys of one subject, in this order (KEYS_PER_SUBJECT), all under one hash tag (see keysOf):
 *   1 req    zset  request id -> admitted at (ms): the requestsPerMinute log
 *   2 tok    hash  second -> tokens admitted in that second (tokensPerMinute buckets)
 *   3 tok:id       string "<second>:<tokens>": this request's entry, so settle can correct it
 *   4 str    zset  request id -> lease expiry (ms): concurrentStreams
 *   5 hold   zset  request id -> hold expiry (ms)
 *   6 held   hash  request id -> nano-dollars held, and ':sum' of all of them
 *   7 spent  hash  period ('YYYY-MM-DD' or 'YYYY-MM') -> settled nano-dollars
 */

export interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });

export const KEYS_PER_SUBJECT = 7;
/** Limit values per subject in the admit script's ARGV: rpm, tpm, streams, daily nanos, monthly nanos. */
export const LIMITS_PER_SUBJECT = 5;
/** Expired holds released per subject and call; more (a crashed instance's) wait for the next calls. */
export const PURGE_HOLDS = 500;

/** The server clock in ms; UTC day and month names and when they end (civil calendar from day numbers). */
const CLOCK = `
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local DAY = 86400000
local function daysFromCivil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end
local function civilFromDays(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end
local function periods(now)
  local days = math.floor(now / DAY)
  local y, m, d = civilFromDays(days)
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return string.format('%04d-%02d-%02d', y, m, d), string.format('%04d-%02d', y, m),
    (days + 1) * DAY, daysFromCivil(ny, nm, 1) * DAY
end
`;

/** Test hook: the periods of ARGV[1] (ms), to check the Lua calendar against budgetPeriods. */
export const PERIODS_AT = script(`${CLOCK}
return {periods(tonumber(ARGV[1]))}
`);

/**
 * Admits a request or refuses it without recording anything. KEYS: KEYS_PER_SUBJECT per subject.
 * ARGV: id, tokens, cost nanos, leaseMs, then LIMITS_PER_SUBJECT per subject ('' = no limit).
 * Returns {1, remainingRequests, remainingTokens, ...per subject (-1: no limit)},
 * {0, subject index, limit name, retryAfterMs}, or {2, subject index, period, ...}: these budget
 * counters are missing and must be rebuilt from the ledger first.
 */
export const ADMIT = script(`${CLOCK}
local now = clock()
local id, tokens, cost, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local n = (#ARGV - 4) / ${LIMITS_PER_SUBJECT}
local day, month, dayEnds, monthEnds = periods(now)
local sec = math.floor(now / 1000)
local function limit(i, j) return tonumber(ARGV[4 + (i - 1) * ${LIMITS_PER_SUBJECT} + j]) end
local function key(i, j) return KEYS[(i - 1) * ${KEYS_PER_SUBJECT} + j] end

local missing = {2}
for i = 1, n do
  if limit(i, 4) and redis.call('HEXISTS', key(i, 7), day) == 0 then
    table.insert(missing, i); table.insert(missing, day)
  end
  if limit(i, 5) and redis.call('HEXISTS', key(i, 7), month) == 0 then
    table.insert(missing, i); table.insert(missing, month)
  end
end
if #missing > 1 then return missing end

local answer = {1}
for i = 1, n do
  local rpm, tpm, streams, daily, monthly = limit(i, 1), limit(i, 2), limit(i, 3), limit(i, 4), limit(i, 5)
  local leftRequests, leftTokens = -1, -1
  if rpm then
    redis.call('ZREMRANGEBYSCORE', key(i, 1), '-inf', now - 60000)
    local count = redis.call('ZCARD', key(i, 1))
    if count >= rpm then
      -- Room comes back when the entry that makes count - rpm + 1 leave the window leaves it.
      local nth = redis.call('ZRANGE', key(i, 1), count - rpm, count - rpm, 'WITHSCORES')
      return {0, i, 'requestsPerMinute', nth[2] and tonumber(nth[2]) + 60000 - now or 60000}
    end
    leftRequests = rpm - count - 1
  end
  if tpm then
    if tokens > tpm then return {0, i, 'tokensPerMinute', 60000} end
    -- A bucket counts until 61 s after its second starts, so every entry counts for a full 60 s.
    local flat, live, sum = redis.call('HGETALL', key(i, 2)), {}, 0
    for j = 1, #flat, 2 do
      local s, v = tonumber(flat[j]), tonumber(flat[j + 1])
      if s + 61 <= sec then
        redis.call('HDEL', key(i, 2), flat[j])
      else
        table.insert(live, {s, v}); sum = sum + v
      end
    end
    if sum + tokens > tpm then
      table.sort(live, function(a, b) return a[1] < b[1] end)
      for _, bucket in ipairs(live) do
        sum = sum - bucket[2]
        if sum + tokens <= tpm then return {0, i, 'tokensPerMinute', (bucket[1] + 61) * 1000 - now} end
      end
      return {0, i, 'tokensPerMinute', 60000}
    end
    leftTokens = tpm - sum - tokens
  end
  if streams then
    redis.call('ZREMRANGEBYSCORE', key(i, 4), '-inf', now)
    local count = redis.call('ZCARD', key(i, 4))
    if count >= streams then
      local first = redis.call('ZRANGE', key(i, 4), 0, 0, 'WITHSCORES')
      local wait = 1000
      if first[2] then wait = math.min(wait, tonumber(first[2]) - now) end
      return {0, i, 'concurrentStreams', wait}
    end
  end
  if daily or monthly then
    local gone = redis.call('ZRANGEBYSCORE', key(i, 5), '-inf', now, 'LIMIT', 0, ${PURGE_HOLDS})
    if #gone > 0 then
      local amounts, total = redis.call('HMGET', key(i, 6), unpack(gone)), 0
      for j = 1, #gone do total = total + (tonumber(amounts[j]) or 0) end
      redis.call('ZREM', key(i, 5), unpack(gone))
      redis.call('HDEL', key(i, 6), unpack(gone))
      if total > 0 then redis.call('HINCRBY', key(i, 6), ':sum', -total) end
    end
    local held = tonumber(redis.call('HGET', key(i, 6), ':sum') or '0')
    if daily and tonumber(redis.call('HGET', key(i, 7), day)) + held + cost > daily then
      return {0, i, 'dailyBudgetUsd', dayEnds - now}
    end
    if monthly and tonumber(redis.call('HGET', key(i, 7), month)) + held + cost > monthly then
      return {0, i, 'monthlyBudgetUsd', monthEnds - now}
    end
  end
  table.insert(answer, leftRequests); table.insert(answer, leftTokens)
end

local bucketEnds = (sec + 61) * 1000
for i = 1, n do
  if limit(i, 1) then
    redis.call('ZADD', key(i, 1), now, id)
    redis.call('PEXPIRE', key(i, 1), 60000)
  end
  if limit(i, 2) then
    redis.call('HINCRBY', key(i, 2), sec, tokens)
    redis.call('PEXPIREAT', key(i, 2), bucketEnds)
    redis.call('SET', key(i, 3), string.format('%d:%.0f', sec, tokens), 'PXAT', bucketEnds)
  end
  if limit(i, 3) then
    redis.call('ZADD', key(i, 4), now + lease, id)
    redis.call('PEXPIRE', key(i, 4), lease)
  end
  if limit(i, 4) or limit(i, 5) then
    redis.call('ZADD', key(i, 5), now + lease, id)
    redis.call('HSET', key(i, 6), id, cost)
    redis.call('HINCRBY', key(i, 6), ':sum', cost)
    redis.call('PEXPIRE', key(i, 5), lease)
    redis.call('PEXPIRE', key(i, 6), lease)
  end
end
return answer
`);

/**
 * Ends a request: corrects its token entry (if still in the window), frees its stream lease,
 * releases its hold and adds the real cost to every existing spent counter of the current
 * periods (a missing one is rebuilt from the ledger, which has this cost). KEYS: the tombstone,
 * then KEYS_PER_SUBJECT per subject. ARGV: id, tokens, cost nanos, tombstoneMs. Returns 0 when
 * the request was already settled (the tombstone is there), else 1.
 */
export const SETTLE = script(`${CLOCK}
local id, tokens, cost = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[4]) then return 0 end
local day, month = periods(clock())
for i = 1, (#KEYS - 1) / ${KEYS_PER_SUBJECT} do
  local function key(j) return KEYS[1 + (i - 1) * ${KEYS_PER_SUBJECT} + j] end
  local entry = redis.call('GET', key(3))
  if entry then
    local second, reserved = string.match(entry, '^(%d+):(%d+)$')
    if redis.call('HEXISTS', key(2), second) == 1 then
      redis.call('HINCRBY', key(2), second, tokens - tonumber(reserved))
    end
    redis.call('DEL', key(3))
  end
  redis.call('ZREM', key(4), id)
  local held = redis.call('HGET', key(6), id)
  if held then
    redis.call('HDEL', key(6), id)
    redis.call('HINCRBY', key(6), ':sum', -tonumber(held))
    redis.call('ZREM', key(5), id)
  end
  if cost > 0 then
    if redis.call('HEXISTS', key(7), day) == 1 then redis.call('HINCRBY', key(7), day, cost) end
    if redis.call('HEXISTS', key(7), month) == 1 then redis.call('HINCRBY', key(7), month, cost) end
  end
end
return 1
`);

/**
 * Extends a request's live stream leases and holds to now + leaseMs (an expired one stays
 * expired: its slot may be taken). KEYS: str, hold, held per subject. ARGV: id, leaseMs.
 */
export const RENEW = script(`${CLOCK}
local id, lease = ARGV[1], tonumber(ARGV[2])
local now = clock()
for j = 1, #KEYS, 3 do
  local s = redis.call('ZSCORE', KEYS[j], id)
  if s and tonumber(s) > now then
    redis.call('ZADD', KEYS[j], now + lease, id)
    redis.call('PEXPIRE', KEYS[j], lease)
  end
  s = redis.call('ZSCORE', KEYS[j + 1], id)
  if s and tonumber(s) > now then
    redis.call('ZADD', KEYS[j + 1], now + lease, id)
    redis.call('PEXPIRE', KEYS[j + 1], lease)
    redis.call('PEXPIRE', KEYS[j + 2], lease)
  end
end
return 1
`);

/**
 * Sets a missing spent counter from the ledger; another instance may have set it first (both
 * read the same record). The hash lives until the end of the latest month it holds: expiry only
 * moves later. KEYS: spent. ARGV: period, nanos, expireAt (ms).
 */
export const REBUILD = script(`
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
else
  redis.call('PEXPIREAT', KEYS[1], ARGV[3], 'GT')
end
return 1
`);

/** Reads a subject's spent counters now. KEYS: spent. Returns {day, month, dayNanos, monthNanos} (-1: missing). */
export const SPENT = script(`${CLOCK}
local day, month = periods(clock())
local d, m = redis.call('HGET', KEYS[1], day), redis.call('HGET', KEYS[1], month)
return {day, month, tonumber(d or '-1'), tonumber(m or '-1')}
`);

/** Runs a script by its SHA, sending the source on NOSCRIPT (first use, or after a Redis restart). */
export async function runScript(redis: Redis, { source, sha }: Script, keys: string[], args: (string | number)[]) {
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return redis.eval(source, keys.length, ...keys, ...args);
  }
}

export const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith('NOSCRIPT');
