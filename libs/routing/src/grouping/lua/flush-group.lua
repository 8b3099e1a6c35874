-- Flushes window 'seq' of a group once: pending changes are folded into what the group has told its
-- destinations (new and regressed only when not already told open, resolved only when told open), the
-- outcome is kept so a retried flush answers the same, and the next timer (the repeat) is armed while
-- anything is open. Finding JSON is spliced as text, never re-encoded (cjson would turn [] into {}).
-- A pending payload is 'change|event|cause|json' ('change|event|json' before causes: the batch's).
-- KEYS[1]  the group's hash (`group:<id>`: seq, flushAt, lastFlush, lastNotified, labels, outcomeSeq, outcome)
-- KEYS[2]  its pending changes (`group:<id>:pending`), emptied
-- KEYS[3]  the findings it has told open (`group:<id>:open`, fingerprint → finding JSON)
-- ARGV     seq, now (ms), repeat interval (ms)
-- Reply    the outcome JSON, or '' for a stale window
local seq, now, rep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local g, pendingKey, openKey = KEYS[1], KEYS[2], KEYS[3]
local f = redis.call('HMGET', g, 'seq', 'outcomeSeq', 'outcome', 'lastNotified', 'labels')
if tonumber(f[2] or '-1') == seq then return f[3] end
if tonumber(f[1] or '-1') ~= seq then return '' end
local lists = {new = {}, regressed = {}, resolved = {}}
local events, eventList, added, routedBy, byCause = {}, {}, {}, {}, {}
local updated = 0
local pending = redis.call('HGETALL', pendingKey)
redis.call('DEL', pendingKey)
for k = 1, #pending, 2 do
  local fp, payload = pending[k], pending[k + 1]
  local a = string.find(payload, '|', 1, true)
  local b = string.find(payload, '|', a + 1, true)
  local change, event = string.sub(payload, 1, a - 1), string.sub(payload, a + 1, b - 1)
  local cause, json = 'batch', string.sub(payload, b + 1)
  if string.sub(payload, b + 1, b + 1) ~= '{' then
    local c = string.find(payload, '|', b + 1, true)
    cause, json = string.sub(payload, b + 1, c - 1), string.sub(payload, c + 1)
  end
  local told = redis.call('HEXISTS', openKey, fp) == 1
  local counted = false
  if change == 'new' or change == 'unsuppressed' or change == 'rescored' or change == 'regressed' or change == 'updated' then
    if not told then
      local list = change == 'regressed' and lists.regressed or lists.new
      list[#list + 1] = json
      added[fp] = true
      counted = true
    elseif change == 'updated' then
      -- Told already: its new data goes out among the open ones, and the group sends.
      updated = updated + 1
      counted = true
    end
    redis.call('HSET', openKey, fp, json)
  elseif change == 'resolved' then
    if told then
      lists.resolved[#lists.resolved + 1] = json
      redis.call('HDEL', openKey, fp)
      counted = true
    end
  else
    redis.call('HDEL', openKey, fp)
  end
  if counted and event ~= '' then
    if not events[event] then
      events[event] = true
      eventList[#eventList + 1] = event
    end
    local key = cause .. '|' .. event
    if not byCause[key] then
      byCause[key] = {event = event, cause = cause, findings = 0}
      routedBy[#routedBy + 1] = byCause[key]
    end
    byCause[key].findings = byCause[key].findings + 1
  end
end
local open = {}
local told = redis.call('HGETALL', openKey)
for k = 1, #told, 2 do
  if not added[told[k]] then open[#open + 1] = told[k + 1] end
end
local lastNotified = tonumber(f[4] or '')
local changed = #lists.new + #lists.regressed + #lists.resolved + updated > 0
local notify = changed or (#open > 0 and lastNotified ~= nil and now >= lastNotified + rep)
if notify then lastNotified = now end
redis.call('HSET', g, 'lastFlush', now)
if notify then redis.call('HSET', g, 'lastNotified', now) end
local next = 'null'
if #told > 0 then
  local at = (lastNotified or now) + rep
  redis.call('HSET', g, 'seq', seq + 1, 'flushAt', at)
  next = '{"seq":' .. (seq + 1) .. ',"flushAt":' .. string.format('%d', at) .. '}'
else
  redis.call('HDEL', g, 'flushAt')
end
local function array(items) return '[' .. table.concat(items, ',') .. ']' end
local outcome = '{"notify":' .. tostring(notify) .. ',"labels":' .. (f[5] or '{}') ..
  ',"changes":{"new":' .. array(lists.new) .. ',"regressed":' .. array(lists.regressed) ..
  ',"resolved":' .. array(lists.resolved) .. ',"open":' .. (notify and array(open) or '[]') .. '}' ..
  ',"events":' .. (#eventList == 0 and '[]' or cjson.encode(eventList)) ..
  ',"routedBy":' .. (#routedBy == 0 and '[]' or cjson.encode(routedBy)) .. ',"next":' .. next .. '}'
redis.call('HSET', g, 'outcomeSeq', seq, 'outcome', outcome)
return outcome
