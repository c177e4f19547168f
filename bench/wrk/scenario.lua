-- wrk script for bench/run.sh. Environment:
--   SCENARIO  register | cycle | rejected | badtoken
--   NUMBERS   how many numbers the fixture holds (ids 2000000000000000 + i)
--   TOKEN     the bench token (badtoken sends a different, unknown one)
--   LABEL     echoed in the result line
--   START     request counter to start from (default 0), so runs can continue the passes
-- register: POST /v23.0/{id}/register rotating over every number (VERIFIED, no PIN: the
--           first pass sets PIN 123456, later passes re-register with it).
-- cycle:    passes over every number, alternately register (even passes) and deregister
--           (odd passes), so every deregister hits a registered number.
-- rejected: register hammering one number (default limit: all but the first 10 get 133016).
-- badtoken: register with an unknown token (401, code 190).
-- done() prints one JSON line: requests, seconds, rps, p50/p99 (microseconds), non-2xx.

local scenario = os.getenv("SCENARIO") or "register"
local numbers = tonumber(os.getenv("NUMBERS") or "100000")
local token = os.getenv("TOKEN") or "EAABenchToken"
local label = os.getenv("LABEL") or scenario
local base = 2000000000000000
local body = '{"messaging_product":"whatsapp","pin":"123456"}'
local counter = tonumber(os.getenv("START") or "0")

if scenario == "badtoken" then
  token = "EAAUnknownBenchToken"
end
local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}

local function id(i)
  return string.format("%d", base + i)
end

local fixed_register = wrk.format("POST", "/v23.0/" .. id(0) .. "/register", headers, body)

request = function()
  if scenario == "rejected" or scenario == "badtoken" then
    return fixed_register
  end
  local k = counter
  counter = counter + 1
  local n = k % numbers
  local edge = "register"
  if scenario == "cycle" and math.floor(k / numbers) % 2 == 1 then
    edge = "deregister"
  end
  return wrk.format("POST", "/v23.0/" .. id(n) .. "/" .. edge, headers, body)
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"label":"%s","scenario":"%s","requests":%d,"seconds":%.3f,"rps":%.1f,' ..
    '"p50_us":%d,"p99_us":%d,"non2xx":%d,"socket_errors":%d}\n',
    label, scenario, summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
