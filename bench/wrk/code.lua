-- Authorization code exchange: every code is sent once. BENCH_CODES is a file of "code verifier"
-- lines; setup() hands thread i (one connection each, BENCH_CONNECTIONS of them) every
-- BENCH_CONNECTIONS-th line from line i. A thread stops once the answer to its last code is in and
-- leaves how long it ran in `elapsed_us` (wrk's own duration is always the -d it was given; report.lua
-- takes the longest thread's instead), so a run that uses up its codes early still gives its rate.
-- BENCH_AUTH is the client's Basic authorization header, BENCH_REDIRECT its redirect URI.
local lines = {}
local counter = 0

function setup(thread)
  if #lines == 0 then
    for line in io.lines(os.getenv("BENCH_CODES")) do lines[#lines + 1] = line end
  end
  local mine = {}
  for i = counter + 1, #lines, tonumber(os.getenv("BENCH_CONNECTIONS")) do mine[#mine + 1] = lines[i] end
  counter = counter + 1
  thread:set("mine", table.concat(mine, "\n"))
end

local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } bench_timespec; int clock_gettime(int clock, bench_timespec *tp); ]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local codes, sent, answered = {}, 0, 0
local tail, started_us

function init(args)
  started_us = now_us()
  for line in string.gmatch(mine or "", "[^\n]+") do codes[#codes + 1] = line end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
  tail = "&redirect_uri=" .. os.getenv("BENCH_REDIRECT"):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end)
end

-- wrk can still ask a thread that has stopped for one more request: that one carries no valid code
-- and its 400 shows in the unexpected answers (at most one per thread).
function request()
  sent = sent + 1
  local code, verifier = (codes[sent] or "used-up used-up"):match("(%S+) (%S+)")
  return wrk.format(nil, nil, nil, "grant_type=authorization_code&code=" .. code .. "&code_verifier=" .. verifier .. tail)
end

function response(status, headers, body)
  answered = answered + 1
  if answered >= #codes then
    elapsed_us = math.floor(now_us() - started_us)
    wrk.thread:stop()
  end
end
