"""The runtime that serves the Slack app: settings, wiring, the HTTP server, workers and background jobs.

settings.py          environment settings, read once in the entry point
core.py              builds the Slack-free core (config, store, redactor, providers, engine)
wiring.py            builds the running bot from Settings (core + Web API client + pools + app)
http_server.py       serves Bolt over HTTP with /healthz, /readyz, /metrics
worker_pool.py       the bounded pool that carries model work off Slack's ack path
queued_requests.py   writes queued requests down so a killed process loses none
recovery.py          closes runs whose process died and tells their requesters
review_deadlines.py  reminds owners of drafts waiting, then expires them
health.py, metrics.py, logs.py  probes, Prometheus metrics, JSON logs
"""
