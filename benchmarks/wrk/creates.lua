-- wrk script: POST /api/v1/tickets, a new ticket per request (benchmarks/write_side.py).
-- Environment: PFAI_TOKEN, an admin's API token. Counts the answers that are not 2xx.
local token = os.getenv("PFAI_TOKEN")
local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  non_2xx = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local body = string.format('{"subject":"bench %d-%d","description":"created by wrk"}', thread_number, counter)
  return wrk.format(nil, "/api/v1/tickets", nil, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non_2xx")
  end
  io.write(string.format("non-2xx answers: %d\n", total))
end
