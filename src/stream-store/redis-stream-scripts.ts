import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });

/**
 * Reads the stream's last entry: `last` is the last delta's seq (0 when none), `ended` whether
 * an end entry (`<last>-1`) is there. Shared by both scripts.
 */
const TAIL = `
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local last, ended = '0', false
if top[1] then
  local pos, kind = string.match(top[1][1], '^(%d+)%-(%d+)$')
  last, ended = pos, kind == '1'
end
`;

/**
 * Appends delta ARGV[1] (JSON ARGV[2]) as entry `<seq>-0` and publishes it, atomically so that
 * a concurrent end from another instance either precedes it (the delta is dropped) or follows
 * it, and notices go out in stream order. The first delta gives the key its abandoned-stream
 * expiry. ARGV: seq, event JSON, maxDeltas, abandonedTtlMs. Returns 1, or 0 when already ended.
 */
export const APPEND_DELTA = script(`${TAIL}
if ended then return 0 end
if tonumber(ARGV[1]) ~= tonumber(last) + 1 then
  return redis.error_reply('ERR delta ' .. ARGV[1] .. ' does not follow ' .. last)
end
local id = ARGV[1] .. '-0'
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], id, 'e', ARGV[2])
if ARGV[1] == '1' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
redis.call('PUBLISH', KEYS[1], '{"id":"' .. id .. '","e":' .. ARGV[2] .. '}')
return 1
`);

/**
 * Appends the end event (JSON ARGV[1]) as `<last seq>-1`, publishes it and gives the key its
 * ended-stream expiry. Any instance may end a stream (the owner, a liveness sweep, a delete)
 * without knowing the last seq, hence the script. ARGV: event JSON, endedTtlMs. Returns 1, or 0
 * when already ended: the first end wins.
 */
export const APPEND_END = script(`${TAIL}
if ended then return 0 end
local id = last .. '-1'
redis.call('XADD', KEYS[1], id, 'e', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', KEYS[1], '{"id":"' .. id .. '","e":' .. ARGV[1] .. '}')
return 1
`);

/** Runs a script by its SHA, sending the source on the first NOSCRIPT (after a Redis restart too). */
export async function runScript(redis: Redis, { source, sha }: Script, key: string, args: (string | number)[]) {
  try {
    return await redis.evalsha(sha, 1, key, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(source, 1, key, ...args);
  }
}
