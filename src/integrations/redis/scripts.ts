/**
 * The Lua scripts. Each runs atomically in Redis, so a compare-and-set is one indivisible step: no other client's
 * command runs between the comparison and the write. Times come from Redis's own clock (`TIME`), so every
 * instance's "pushed at" and "written at" are on one clock.
 */
import { script } from "./link.js";

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Writes a config document (fields revision, config, sha, updatedAt, writer) and announces "revision:sha". */
const WRITE_CONFIG = `local function write_config(key, channel, revision, config, writer, now)
  local sha = redis.sha1hex(config)
  redis.call('HSET', key, 'revision', revision, 'config', config, 'sha', sha, 'updatedAt', now, 'writer', writer)
  redis.call('PUBLISH', channel, revision .. ':' .. sha)
end`;

/**
 * Config compare-and-set. KEYS: config hash. ARGV: expected revision, config JSON, channel, writer.
 * Returns {1, revision, now} when written, {0, current revision} when the expected revision was not the stored one.
 */
export const CONFIG_CAS = script(`${NOW}
${WRITE_CONFIG}
local current = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
write_config(KEYS[1], ARGV[3], current + 1, ARGV[2], ARGV[4], now)
return {1, current + 1, now}`);

/**
 * Rollout compare-and-set, optionally with the config change it implies, in one atomic step.
 * KEYS: state hash, lease, config hash, events stream.
 * ARGV: [1] lease token ('' = no lease needed: an operator command), [2] expected state revision, [3] new state JSON
 * ('' = state unchanged: a config reconcile), [4] new state revision, [5] nonce, [6] expected config revision ('' = no
 * config change), [7] config JSON, [8] channel, [9] events entry JSON ('' = none), [10] events kept, [11] writer.
 * Returns {1, state revision, config revision or 0}, {-1} lease not held, {0, stored state revision} state conflict,
 * {-2, stored config revision} config conflict.
 */
export const ROLLOUT_CAS = script(`${NOW}
${WRITE_CONFIG}
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return {-1} end
local current = tonumber(redis.call('HGET', KEYS[1], 'revision') or '0')
if current ~= tonumber(ARGV[2]) then return {0, current} end
local config_revision = 0
if ARGV[6] ~= '' then
  local stored = tonumber(redis.call('HGET', KEYS[3], 'revision') or '0')
  if stored ~= tonumber(ARGV[6]) then return {-2, stored} end
  config_revision = stored + 1
  write_config(KEYS[3], ARGV[8], config_revision, ARGV[7], ARGV[11], now)
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'revision', ARGV[4], 'state', ARGV[3], 'nonce', ARGV[5], 'updatedAt', now, 'writer', ARGV[11])
end
if ARGV[9] ~= '' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[10], '*', 'revision', ARGV[4], 'config', config_revision, 'writer', ARGV[11], 'nonce', ARGV[5], 'entry', ARGV[9])
end
return {1, tonumber(ARGV[4]), config_revision}`);

/** Lease renewal. KEYS: lease. ARGV: token, ms. Returns 1 when renewed, 0 when the lease is not ours. */
export const LEASE_RENEW = script(`if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`);

/** Lease release. KEYS: lease. ARGV: token. */
export const LEASE_RELEASE = script(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/**
 * Stats push. KEYS: index sorted set, instance key, instance revision key. ARGV: instance, snapshot JSON, ttl ms, the
 * config revision the instance applies ('' = none). The snapshot key holds the snapshot alone, as it always has (older
 * readers keep reading it); the revision key holds "revision:pushedAt" with the same TTL, so a reader trusts it only
 * for the push that wrote it. Returns Redis's now.
 */
export const STATS_PUSH = script(`${NOW}
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if ARGV[4] == '' then redis.call('DEL', KEYS[3]) else redis.call('SET', KEYS[3], ARGV[4] .. ':' .. now, 'PX', ARGV[3]) end
redis.call('ZADD', KEYS[1], now, ARGV[1])
return now`);

/**
 * Stats read. KEYS: index sorted set. ARGV: instance key prefix, the oldest age that counts (ms), instance revision key
 * prefix. Drops index entries whose snapshot expired. Returns {now, instance, pushedAt, snapshot, revision, …} for every
 * live snapshot; the snapshot text is '' when it is older than ARGV[2] (too old to count: it is listed, not sent); the
 * revision is "revision:pushedAt" as pushed, or '' when none was.
 */
export const STATS_READ = script(`${NOW}
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {now}
for i = 1, #members, 2 do
  local value = redis.call('GET', ARGV[1] .. members[i])
  if not value then
    redis.call('ZREM', KEYS[1], members[i])
  else
    table.insert(out, members[i])
    table.insert(out, members[i + 1])
    if tonumber(members[i + 1]) >= now - tonumber(ARGV[2]) then table.insert(out, value) else table.insert(out, '') end
    table.insert(out, redis.call('GET', ARGV[3] .. members[i]) or '')
  end
end
return out`);

/** Stats removal on a clean shutdown. KEYS: index, instance key, instance revision key. ARGV: instance. */
export const STATS_REMOVE = script(`redis.call('DEL', KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1`);
