-- wrk script for every benchmark case.
--
--   wrk ... -s bench/lua/bench.lua URL -- SPEC [POOL_PREFIX [MODE]]
--
-- SPEC is a request template file: line 1 the method, line 2 the path (with query), then header lines
-- "Name: value", an empty line, and the body (may be empty). The text %TOKEN% anywhere in the path,
-- a header value or the body is replaced by the next value of the pool.
--
-- POOL_PREFIX names the pool files: thread N (1-based) reads POOL_PREFIX.N, one value per line, so
-- that no two threads share a value; the connections of a thread take values in turn, one per request.
-- MODE "consume" (single-use values: refresh tokens, assertions): every request past the end of the
-- thread's pool reuses a value and is counted in `reused`, which the harness counts as an error.
-- MODE "cycle" (read-only values such as access tokens): the pool is used round-robin.
--
-- Every response is counted by status; done() prints one line "BENCH_JSON {...}" with the totals,
-- latency percentiles (microseconds), socket errors and the first non-2xx response (status + body start).

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
  table.insert(threads, thread)
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error("cannot open " .. path .. ": " .. tostring(err)) end
  local s = f:read("*a")
  f:close()
  return s
end

local function lines_of(s)
  local t = {}
  for line in s:gmatch("[^\r\n]+") do t[#t + 1] = line end
  return t
end

local function substitute(s, value)
  if s == nil then return nil end
  return (s:gsub("%%TOKEN%%", (value:gsub("%%", "%%%%"))))
end

function init(args)
  local spec = read_file(args[1])
  local head, body = spec:match("^(.-)\n\n(.*)$")
  if not head then head, body = spec, "" end
  body = body:gsub("\n+$", "")
  local lines = lines_of(head)
  req_method, req_path = lines[1], lines[2]
  req_headers = {}
  for i = 3, #lines do
    local k, v = lines[i]:match("^([^:]+):%s*(.*)$")
    if k then req_headers[k] = v end
  end
  req_body = (body ~= "") and body or nil
  pool_mode = args[3] or "cycle"
  pool = nil
  if args[2] and args[2] ~= "" then
    pool = lines_of(read_file(args[2] .. "." .. id))
    if #pool == 0 then error("empty pool file " .. args[2] .. "." .. id) end
  end
  served, reused, non2xx = 0, 0, 0
  statuses = {}
  sample = ""
  if not pool then fixed_request = wrk.format(req_method, req_path, req_headers, req_body) end
end

function request()
  if fixed_request then return fixed_request end
  served = served + 1
  local i = served
  if i > #pool then
    if pool_mode == "consume" then reused = reused + 1 end
    i = ((i - 1) % #pool) + 1
  end
  local value = pool[i]
  local headers = {}
  for k, v in pairs(req_headers) do headers[k] = substitute(v, value) end
  return wrk.format(req_method, substitute(req_path, value), headers, substitute(req_body, value))
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if sample == "" then sample = key .. " " .. string.sub(body or "", 1, 300) end
  end
end

local function json_string(s)
  s = s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local total_non2xx, total_reused, first_sample = 0, 0, ""
  local merged = {}
  for _, t in ipairs(threads) do
    total_non2xx = total_non2xx + (t:get("non2xx") or 0)
    total_reused = total_reused + (t:get("reused") or 0)
    local s = t:get("sample") or ""
    if first_sample == "" then first_sample = s end
    local st = t:get("statuses") or {}
    for k, v in pairs(st) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = json_string(k) .. ":" .. v end
  local e = summary.errors
  io.write("BENCH_JSON {",
    '"requests":', summary.requests, ",",
    '"duration_us":', summary.duration, ",",
    '"bytes":', summary.bytes, ",",
    '"errors":{"connect":', e.connect, ',"read":', e.read, ',"write":', e.write,
    ',"status":', e.status, ',"timeout":', e.timeout, "},",
    '"non2xx":', total_non2xx, ",",
    '"reused":', total_reused, ",",
    '"statuses":{', table.concat(parts, ","), "},",
    '"latency_us":{"p50":', latency:percentile(50), ',"p90":', latency:percentile(90),
    ',"p99":', latency:percentile(99), ',"max":', latency.max, ',"mean":', latency.mean, "},",
    '"sample":', json_string(first_sample),
    "}\n")
end
