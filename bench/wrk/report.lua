-- Appended to every scenario script: counts answers by status in each thread (response() also keeps
-- each connection to one request at a time) and prints one JSON line at the end for bench/run.ts.
local threads = {}
local setup_scenario = setup
function setup(thread)
  table.insert(threads, thread)
  if setup_scenario then setup_scenario(thread) end
end

local response_scenario = response
statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if response_scenario then response_scenario(status, headers, body) end
end

function done(summary, latency, requests)
  local counts = {}
  -- A scenario whose threads can finish early (code.lua) leaves each one's running time in
  -- `elapsed_us`: the run lasted as long as its longest thread (wrk counts its whole -d).
  local duration = 0
  for _, thread in ipairs(threads) do
    duration = math.max(duration, thread:get("elapsed_us") or summary.duration)
  end
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for status, n in pairs(s) do counts[tostring(status)] = (counts[tostring(status)] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(counts) do table.insert(parts, string.format('"%s":%d', status, n)) end
  io.write(string.format(
    'BENCH-RESULT {"requests":%d,"duration_us":%d,"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"statuses":{%s}}\n',
    summary.requests, duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, table.concat(parts, ",")))
end
