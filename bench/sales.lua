-- wrk script of bench/sales.sh: POST /api/v1/market/orders, a bank-QR sale of two lines (a weighed
-- catalogue product, 0.100-2.500 kg, and a free amount of 45.000 đ), rotating over several shops.
--
--   wrk -s bench/sales.lua http://127.0.0.1:PORT/api/v1/market/orders -- SHOPS_FILE TAG [idem]
--
-- SHOPS_FILE: one shop a line, "merchant_id<TAB>api_key<TAB>weighed_product_id". TAG is the free
-- line's name, so the bench can count this run's orders in the database afterwards. When done it
-- prints "sales.lua: 2xx=N other=M" (wrk counts only non-2xx/3xx) and the first other answer.
-- With "idem" every request carries a fresh Idempotency-Key, as the POS till sends one per sale.

local shops = {}
local tag = "bench"
local idem = false
local run = 0
local n = 0
local threads = {}

-- Globals: read per thread by done() through thread:get().
ok, other, first_other = 0, 0, ""

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local id, key, product = line:match("^(%d+)\t(%S+)\t(%d+)$")
    if id then
      table.insert(shops, { id = id, product = product, auth = "Bearer " .. key })
    end
  end
  assert(#shops > 0, "sales.lua: no shop in " .. tostring(args[1]))
  tag = args[2] or tag
  idem = args[3] == "idem"
  math.randomseed(os.time())
  run = math.random(1, 2 ^ 30)
end

function request()
  n = n + 1
  local shop = shops[(n % #shops) + 1]
  local grams = math.random(100, 2500)
  local body = string.format(
    '{"merchant_id":%s,"payment_method":"bank_qr","lines":[{"product_id":%s,"quantity":"%d.%03d"},'
      .. '{"unit_price":45000,"name":"%s"}]}',
    shop.id, shop.product, math.floor(grams / 1000), grams % 1000, tag
  )
  local headers = {
    ["Authorization"] = shop.auth,
    ["Content-Type"] = "application/json",
  }
  if idem then
    headers["Idempotency-Key"] = string.format("wrk-%d-%d", run, n)
  end
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    other = other + 1
    if first_other == "" then
      first_other = status .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

function done(summary, latency, requests)
  local total_ok, total_other, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
    if sample == "" then
      sample = thread:get("first_other")
    end
  end
  io.write(string.format("sales.lua: 2xx=%d other=%d\n", total_ok, total_other))
  if sample ~= "" then
    io.write("sales.lua: first other answer: " .. sample .. "\n")
  end
end
