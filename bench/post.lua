-- wrk script: POST the bytes of BODY_FILE with CONTENT_TYPE on every request (bench/run's
-- login case: a JSON body to /api/v1/session). wrk itself sends as fast as it can.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json"
