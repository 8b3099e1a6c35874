-- Flushes window 'seq' of a group once: pending changes are folded into what the group has told its
-- destinations (new and regressed only when not already told open, resolved only when told open), the
-- outcome is kept under a key of its own until its job has queued the deliveries (at most keepMs), so a
-- retried flush answers the same even after later windows, and the next timer (the repeat) is armed
-- while anything is open. The window's finding records are not read here: their hash is renamed to the
-- outcome's records key (O(1)) and the outcome names them by fingerprint (`refs`), so a window of 5,000
-- findings does not copy 8 MB through the script; the caller reads the records it sends. Only a route
-- that keeps every told record (ARGV[6]) copies records into its open hash, spliced as text, never
-- re-encoded (cjson would turn [] into {}).
-- A pending line is 'change|event|cause|severity', its record in KEYS[6]; lines of earlier versions carry
-- the finding JSON themselves ('change|event|cause|severity|json', 'change|event|cause|json',
-- 'change|event|json'), and are moved to the records on the way.
-- KEYS[1]  the group's hash (`group:<id>`: seq, flushAt, lastFlush, lastNotified, labels, outcomeSeq, outcome)
-- KEYS[2]  its pending changes (`group:<id>:pending`), emptied
-- KEYS[3]  the findings it has told open (`group:<id>:open`, fingerprint → severity, or finding JSON)
-- KEYS[4]  this window's kept outcome (`group:<id>:outcome:<seq>`)
-- KEYS[5]  the groups by last activity (`{groups}:index`)
-- KEYS[6]  the pending changes' records (`group:<id>:pending:records`), renamed to KEYS[7]
-- KEYS[7]  this window's records (`group:<id>:outcome:<seq>:records`), kept as long as the outcome
-- ARGV     seq, now (ms), repeat interval (ms), keep (ms), groupId, records ('1': the route has a destination
--          that shows the group's whole state, so the open hash keeps every told finding's JSON; else its severity)
-- Reply    the outcome JSON, or '' for a stale window. `refs` names the records of `changes.new`, `regressed`,
--          `resolved`, and of `open`: told findings whose data changed in the window (`updated`); with records,
--          `changes.open` has every other told one inline. `told` has the count, severity counts and
--          fingerprints of every told finding still open (not new in the window).
local seq, now, rep, keep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local records = ARGV[6] == '1'
local g, pendingKey, openKey, outcomeKey, index, pendingRecords, outcomeRecords = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local kept = redis.call('GET', outcomeKey)
if kept then return kept end
local f = redis.call('HMGET', g, 'seq', 'outcomeSeq', 'outcome', 'lastNotified', 'labels', 'born')
-- Kept in the group's hash before outcomes had keys of their own.
if tonumber(f[2] or '-1') == seq then return f[3] end
if tonumber(f[1] or '-1') ~= seq then return '' end
local lists = {new = {}, regressed = {}, resolved = {}}
local events, eventList, added, changedOpen, routedBy, byCause = {}, {}, {}, {}, {}, {}
-- A finding's severity, what the open hash keeps of it when records are not kept.
local function severityOf(json)
  local ok, decoded = pcall(cjson.decode, json)
  return ok and type(decoded) == 'table' and type(decoded.severity) == 'string' and decoded.severity or 'info'
end
local updated = 0
local pending = redis.call('HGETALL', pendingKey)
redis.call('DEL', pendingKey)
for k = 1, #pending, 2 do
  local fp, payload = pending[k], pending[k + 1]
  local a = string.find(payload, '|', 1, true)
  local b = string.find(payload, '|', a + 1, true)
  local change, event = string.sub(payload, 1, a - 1), string.sub(payload, a + 1, b - 1)
  local cause, severity, json = 'batch', nil, nil
  if string.sub(payload, b + 1, b + 1) == '{' then
    json = string.sub(payload, b + 1)
  else
    local c = string.find(payload, '|', b + 1, true)
    if not c then
      cause = string.sub(payload, b + 1)
    elseif string.sub(payload, c + 1, c + 1) == '{' then
      cause, json = string.sub(payload, b + 1, c - 1), string.sub(payload, c + 1)
    else
      cause = string.sub(payload, b + 1, c - 1)
      local d = string.find(payload, '|', c + 1, true)
      if d then
        severity, json = string.sub(payload, c + 1, d - 1), string.sub(payload, d + 1)
      else
        severity = string.sub(payload, c + 1)
      end
    end
  end
  -- A line of an earlier version: its record joins the window's records.
  if json then redis.call('HSET', pendingRecords, fp, json) end
  local function record() return json or redis.call('HGET', pendingRecords, fp) end
  local told = redis.call('HEXISTS', openKey, fp) == 1
  local counted = false
  if change == 'new' or change == 'unsuppressed' or change == 'rescored' or change == 'regressed' or change == 'updated' then
    if not told then
      local list = change == 'regressed' and lists.regressed or lists.new
      list[#list + 1] = fp
      added[fp] = true
      counted = true
    elseif change == 'updated' then
      -- Told already: its new data goes out among the open ones, and the group sends.
      updated = updated + 1
      changedOpen[fp] = true
      counted = true
    end
    local kept = records and record() or severity
    redis.call('HSET', openKey, fp, kept or severityOf(record() or ''))
  elseif change == 'resolved' then
    if told then
      lists.resolved[#lists.resolved + 1] = fp
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
-- The window's records go with its outcome, whole.
if redis.call('EXISTS', pendingRecords) == 1 then
  redis.call('RENAME', pendingRecords, outcomeRecords)
  redis.call('PEXPIRE', outcomeRecords, keep)
end
local open, openRefs, toldIds, bySeverity = {}, {}, {}, {}
local told = redis.call('HGETALL', openKey)
for k = 1, #told, 2 do
  local fp, value = told[k], told[k + 1]
  if not added[fp] then
    toldIds[#toldIds + 1] = fp
    -- Kept by earlier versions or for a route that keeps records: finding JSON; else the severity alone.
    local isJson = string.sub(value, 1, 1) == '{'
    local severity = isJson and severityOf(value) or value
    bySeverity[severity] = (bySeverity[severity] or 0) + 1
    if changedOpen[fp] then
      openRefs[#openRefs + 1] = fp
    elseif records and isJson then
      open[#open + 1] = value
    end
  end
end
local lastNotified = tonumber(f[4] or '')
local changed = #lists.new + #lists.regressed + #lists.resolved + updated > 0
local notify = changed or (#toldIds > 0 and lastNotified ~= nil and now >= lastNotified + rep)
if notify then lastNotified = now end
redis.call('HSET', g, 'lastFlush', now)
redis.call('ZADD', index, now, ARGV[5])
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
local function ids(items) return #items == 0 and '[]' or cjson.encode(items) end
local outcome = '{"notify":' .. tostring(notify) .. ',"labels":' .. (f[5] or '{}') ..
  ',"changes":{"new":[],"regressed":[],"resolved":[],"open":' .. (notify and array(open) or '[]') ..
  ',"told":{"count":' .. (notify and #toldIds or 0) .. ',"bySeverity":' .. ((notify and #toldIds > 0) and cjson.encode(bySeverity) or '{}') ..
  ',"fingerprints":' .. ((notify and #toldIds > 0) and cjson.encode(toldIds) or '[]') .. '}}' ..
  ',"events":' .. (#eventList == 0 and '[]' or cjson.encode(eventList)) .. (f[6] and (',"born":' .. f[6]) or '') ..
  ',"routedBy":' .. (#routedBy == 0 and '[]' or cjson.encode(routedBy)) .. ',"next":' .. next ..
  ',"refs":{"new":' .. ids(lists.new) .. ',"regressed":' .. ids(lists.regressed) .. ',"resolved":' .. ids(lists.resolved) ..
  ',"open":' .. (notify and ids(openRefs) or '[]') .. '}}'
redis.call('HDEL', g, 'outcomeSeq', 'outcome')
redis.call('SET', outcomeKey, outcome, 'PX', keep)
return outcome
