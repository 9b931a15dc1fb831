-- wrk script: POST /oauth2/token as any OAuth client does (client_secret_post), with the
-- key and secret from the environment (TOKENGATE_KEY, TOKENGATE_SECRET).
wrk.method = "POST"
wrk.path = "/oauth2/token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&client_id=" .. os.getenv("TOKENGATE_KEY")
  .. "&client_secret=" .. os.getenv("TOKENGATE_SECRET")

done = function(summary, latency, requests)
  io.write(string.format("tokens: %d in %.1f s, %d non-2xx; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
