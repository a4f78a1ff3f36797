-- POST JSON bodies in turns, each with its own bearer token: several drivers booking at once.
-- BENCH_POSTS holds one "<Authorization header value>\t<JSON body>" per line. "@ARRIVAL@" in a
-- body becomes a time BENCH_ARRIVAL_STEP seconds after the previous one of the same line and
-- thread (from BENCH_ARRIVAL_FROM, epoch seconds; threads interleave, up to 16): a truck's
-- bookings never share a time window, as the service requires.
local posts = {}
for line in string.gmatch(os.getenv("BENCH_POSTS"), "[^\n]+") do
  local authorization, body = line:match("^([^\t]*)\t(.*)$")
  table.insert(posts, {headers = {["Authorization"] = authorization, ["Content-Type"] = "application/json"}, body = body})
end
local from = tonumber(os.getenv("BENCH_ARRIVAL_FROM") or "0")
local step = tonumber(os.getenv("BENCH_ARRIVAL_STEP") or "0")
local turn = 0
local sent = {}

local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

request = function()
  turn = turn % #posts + 1
  local n = sent[turn] or 0
  sent[turn] = n + 1
  local arrival = os.date("!%Y-%m-%dT%H:%M:%SZ", from + (n * 16 + id) * step)
  local body = posts[turn].body:gsub("@ARRIVAL@", arrival)
  return wrk.format("POST", nil, posts[turn].headers, body)
end
