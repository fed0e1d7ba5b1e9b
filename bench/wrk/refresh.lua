-- Refresh-token rotation: each connection (one per wrk thread) holds its own chain. setup() hands
-- thread i the i-th token of BENCH_TOKENS (a file, one token per line); each 200 answer's
-- refresh_token is the next one sent. BENCH_AUTH is the client's Basic authorization header (none if empty).
local tokens = {}
local counter = 1
local auth = os.getenv("BENCH_AUTH")

function setup(thread)
  if #tokens == 0 then
    for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
  end
  thread:set("token", tokens[counter])
  counter = counter + 1
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
end

function request()
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  if status == 200 then
    local t = body:match('"refresh_token":"([^"]+)"')
    if t then token = t end
  end
end
