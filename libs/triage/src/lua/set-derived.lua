-- A context change rescored stored findings: their risk, environment and exposure as correlation now
-- sees them, kept beside the report (`derived`, read over it) and in the risk index. Findings not
-- stored (yet) are skipped: their report will carry the risk.
-- KEYS[1]    the risk index (`<prefix>:{findings}:findings:risk`, sorted set)
-- KEYS[i+1]  finding i's hash (`<prefix>:{findings}:finding:<fp>`), i = 1..n
-- ARGV       per finding i, in KEYS order: fingerprint, derived JSON, risk score
-- Reply      0
for i = 2, #KEYS do
  local key, a = KEYS[i], 3 * i - 5
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'derived', ARGV[a + 1], 'score', ARGV[a + 2])
    redis.call('ZADD', KEYS[1], ARGV[a + 2], ARGV[a])
  end
end
return 0
