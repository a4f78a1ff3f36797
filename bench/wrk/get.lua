-- GET with the caller's credentials: BENCH_AUTHORIZATION (a bearer token) and/or BENCH_COOKIE.
local authorization = os.getenv("BENCH_AUTHORIZATION")
local cookie = os.getenv("BENCH_COOKIE")
if authorization then wrk.headers["Authorization"] = authorization end
if cookie then wrk.headers["Cookie"] = cookie end
wrk.method = "GET"
