-- POST JSON bodies in turns, each with its own bearer token: several drivers booking at once.
-- BENCH_POSTS holds one "<Authorization header value>\t<JSON body>" per line.
local posts = {}
for line in string.gmatch(os.getenv("BENCH_POSTS"), "[^\n]+") do
  local authorization, body = line:match("^([^\t]*)\t(.*)$")
  table.insert(posts, wrk.format("POST", nil, {["Authorization"] = authorization, ["Content-Type"] = "application/json"}, body))
end
local turn = 0

request = function()
  turn = turn % #posts + 1
  return posts[turn]
end
