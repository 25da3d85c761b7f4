import { RedisScript } from './redis-script.js'

/**
 * The Lua scripts of {@link RedisPresence}, each one atomic. Per channel: `conns` (hash
 * `[user, connectionId]` → `<node>\0<user>`) and `users` (hash user → connection count); per
 * node: `index` (hash channel → its connections there) and `heartbeat` (a key with a TTL); one
 * `registry` (set of node ids that may hold entries).
 */
export const PRESENCE_SCRIPTS = {
  /**
   * KEYS: conns, users, index, registry, heartbeat. ARGV: field, value, user, channel, node,
   * heartbeat TTL (ms). Returns `{added, revived}`: added is 1 for the user's first connection;
   * revived is 1 when the heartbeat had to be created (it was gone).
   */
  add: new RedisScript(`
redis.call('SADD', KEYS[4], ARGV[5])
local revived = 0
if redis.call('SET', KEYS[5], '1', 'PX', ARGV[6], 'NX') then revived = 1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return {0, revived} end
redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then return {1, revived} end
return {0, revived}
`),

  /**
   * KEYS: conns, users, index of the calling node. ARGV: field, user, channel, calling node.
   * Returns 1 when the user's last connection left, else 0 (also when the connection was absent).
   */
  remove: new RedisScript(`
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if string.sub(value, 1, #ARGV[4] + 1) == ARGV[4] .. '\\0' then
  if redis.call('HINCRBY', KEYS[3], ARGV[3], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[3]) end
end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
return 0
`),

  /**
   * KEYS: heartbeat, registry. ARGV: node, heartbeat TTL (ms). Refreshes the heartbeat and
   * registers the node; returns 1 when the heartbeat existed, 0 when it had to be created.
   */
  beat: new RedisScript(`
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('SET', KEYS[1], '1', 'PX', ARGV[2], 'GET') then return 1 end
return 0
`),

  /**
   * KEYS: conns, users, index of the purged node, its heartbeat. ARGV: `<node>\0`, channel,
   * force (1 purges a node that still beats). Removes the node's connections from the channel
   * and returns the users whose last connection that was.
   */
  purge: new RedisScript(`
if ARGV[3] == '0' and redis.call('EXISTS', KEYS[4]) == 1 then return {} end
local all = redis.call('HGETALL', KEYS[1])
local left = {}
for i = 1, #all, 2 do
  local value = all[i + 1]
  if string.sub(value, 1, #ARGV[1]) == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    local user = string.sub(value, #ARGV[1] + 1)
    if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
      redis.call('HDEL', KEYS[2], user)
      left[#left + 1] = user
    end
  end
end
redis.call('HDEL', KEYS[3], ARGV[2])
return left
`),

  /**
   * KEYS: heartbeat, index, registry. ARGV: node, force. Drops the node from the registry once
   * its index is empty and (unless forced) its heartbeat is gone; returns 1 when it did.
   */
  forget: new RedisScript(`
if ARGV[2] == '0' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('HLEN', KEYS[2]) > 0 then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`),
} as const
