-- Replays signed webhooks from a file (`<signature> <body>` per line), each once, in order.
-- Optional second argument: a delay in ms between the requests of one connection.
local sigs, bodies, n, i, pause = {}, {}, 0, 0, 0

init = function(args)
  for line in io.lines(args[1]) do
    local sig, body = line:match("^(%S+) (.*)$")
    n = n + 1
    sigs[n] = sig
    bodies[n] = body
  end
  pause = tonumber(args[2] or "0")
end

request = function()
  i = i % n + 1
  return wrk.format("POST", "/webhooks/whatsapp",
    {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sigs[i]}, bodies[i])
end

delay = function()
  return pause
end

done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"errors\": %d, " ..
    "\"non2xx\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
