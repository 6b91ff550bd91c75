-- wrk script: each connection waits DELAY_MS between requests, so that
-- connections * 1000 / DELAY_MS is the offered rate (wrk alone sends as fast as it can).
local delay_ms = tonumber(os.getenv("DELAY_MS") or "20")
function delay()
  return delay_ms
end
