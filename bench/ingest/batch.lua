-- batch.lua — wrk script: POST /v1/batch with 100 Segment track events per
-- request, every messageId unique, authenticated with HTTP Basic (write key
-- as the user name).
--
--   WRITE_KEY=swk_… wrk -t2 -c16 -d20s -s bench/ingest/batch.lua http://127.0.0.1:PORT
--
-- Environment: WRITE_KEY (required), BATCH (events per request, default 100),
-- USERS (distinct userIds, default 100000), RUN (a tag that keeps messageIds
-- unique across runs against the same workspace; default: the time).
--
-- Building 100 JSON events in Lua per request would make wrk the bottleneck,
-- so each thread pre-builds a pool of bodies in init() with placeholders and,
-- per request, fills them in one gsub pass: "@c" (the request counter, in
-- every messageId and order_id) and "@u" (a random user per event).
-- messageId = RUN-thread-request-index: unique for the whole run.

local BATCH = tonumber(os.getenv("BATCH") or "100")
local USERS = tonumber(os.getenv("USERS") or "100000")
local POOL = 64 -- bodies per thread
local RUN = os.getenv("RUN") or tostring(os.time())

-- Base64 for the Basic credentials ("key:").
local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  return ((s:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

-- Threads are created in order; each gets its own id for the messageIds.
local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local events = {
  { "page_view", 40 }, { "view_item", 25 }, { "add_to_cart", 10 }, { "share", 6 },
  { "checkin", 6 }, { "coupon_claim", 5 }, { "order_paid", 5 }, { "form_submitted", 3 },
}
local categories = { "护肤", "彩妆", "母婴", "零食", "茶饮", "服饰", "家居", "数码" }
local channels = { "miniprogram", "wecom", "h5", "app" }
local stores = { "SH-001", "SH-002", "BJ-001", "GZ-001", "SZ-003", "HZ-002" }
local pages = { "/home", "/item", "/cart", "/activity/618", "/member", "/coupon" }

local function pick_event()
  local r, acc = math.random(100), 0
  for _, e in ipairs(events) do
    acc = acc + e[2]
    if r <= acc then return e[1] end
  end
  return "page_view"
end

-- One event; "@c" and "@u" are filled in at send time.
local function event_json(i, ts)
  local name = pick_event()
  local cat = categories[math.random(#categories)]
  local props
  if name == "order_paid" then
    props = string.format(
      '{"order_id":"O-%s-%d-@c-%d","amount":"%d.%02d","category":"%s","sku":"SKU-%04d","store":"%s","channel":"%s"}',
      RUN, tid, i, math.random(9, 2999), math.random(0, 99), cat, math.random(500), stores[math.random(#stores)],
      channels[math.random(#channels)])
  elseif name == "page_view" then
    props = string.format('{"path":"%s","title":"页面%d","channel":"%s"}', pages[math.random(#pages)],
      math.random(50), channels[math.random(#channels)])
  elseif name == "view_item" or name == "add_to_cart" then
    props = string.format('{"sku":"SKU-%04d","category":"%s","price":%d.%02d,"quantity":%d}', math.random(500), cat,
      math.random(9, 999), math.random(0, 99), math.random(3))
  else
    props = string.format('{"channel":"%s","campaign":"c%d"}', channels[math.random(#channels)], math.random(20))
  end
  return string.format(
    '{"type":"track","event":"%s","userId":"u@u","messageId":"%s-%d-@c-%d","timestamp":"%s",' ..
    '"properties":%s,"context":{"ip":"203.0.113.%d","library":{"name":"wrk-bench","version":"1"}}}',
    name, RUN, tid, i, ts, props, math.random(254))
end

-- sent and n_ok are globals so that done() can read them from each thread
-- (thread:get).
local pool = {}
sent, n_ok = 0, 0

function init(args)
  local key = os.getenv("WRITE_KEY")
  if not key or key == "" then error("set WRITE_KEY") end
  math.randomseed(tid * 7919 + os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Basic " .. base64(key .. ":")
  local ts = os.date("!%Y-%m-%dT%H:%M:%S.000Z")
  for p = 1, POOL do
    local evs = {}
    for i = 1, BATCH do evs[i] = event_json(i, ts) end
    pool[p] = '{"batch":[' .. table.concat(evs, ",") .. '],"sentAt":"' .. ts .. '"}'
  end
end

local random, tostring, format = math.random, tostring, string.format
local ctr_s = ""
local function fill(k)
  if k == "c" then return ctr_s end
  return format("%06d", random(USERS)) -- u000001…, as writer_bench.c
end

function request()
  sent = sent + 1
  ctr_s = tostring(sent)
  local body = pool[sent % POOL + 1]:gsub("@(%a)", fill)
  return wrk.format(nil, "/v1/batch", nil, body)
end

function response(status, headers, body)
  if status == 200 then n_ok = n_ok + 1 end
end

function done(summary, latency, requests)
  local ok, n_sent = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + (t:get("n_ok") or 0)
    n_sent = n_sent + (t:get("sent") or 0)
  end
  local secs = summary.duration / 1e6
  local errs = summary.errors
  io.write(string.format("requests=%d sent=%d ok=%d events_ok=%d seconds=%.2f\n", summary.requests, n_sent, ok,
    ok * BATCH, secs))
  io.write(string.format("non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n", errs.status, errs.connect,
    errs.read, errs.write, errs.timeout))
  io.write(string.format("events_per_s=%.0f\n", ok * BATCH / secs))
  io.write(string.format("latency_p50_ms=%.2f latency_p90_ms=%.2f latency_p99_ms=%.2f latency_max_ms=%.2f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
