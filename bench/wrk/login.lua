-- A password flood on the sign-in form: every request posts a wrong password for an address of its
-- own (no per-account limit applies, the way a credential-stuffing list looks), on one interaction,
-- with its cookies (BENCH_COOKIE) and form token (BENCH_CSRF).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
local csrf = os.getenv("BENCH_CSRF")
local n = 0
id = 0
function setup(thread)
  id = id + 1
  thread:set("id", id)
end
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, "csrf=" .. csrf .. "&email=flood-" .. id .. "-" .. n .. "%40example.com&password=not-the-password-" .. n)
end
