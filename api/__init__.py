"""`sankalp api`: the pipeline's front door over HTTP.

Open311 GeoReport v2 intake and status for the channels (portal, app, WhatsApp, the call
centre's software), and an authenticated API for officers (their queue, their actions).
The service holds no state of its own: it produces to Kafka with the project's idempotent
producer and reads what the sink wrote to Postgres, so any number of replicas can run
behind a load balancer. docs/api.md describes it; the modules:

    api/app.py       the aiohttp application: routes, middleware, start and stop
    api/open311.py   services, requests (POST) and their status (GET)
    api/officer.py   the officers' queue and actions
    api/intake.py    an Open311 request -> ComplaintSubmitted, with the intake's own rules
    api/status.py    Postgres rows -> Open311 status and queue items (no personal data)
    api/keys.py      the channels' API keys and the officers' signing keys (files)
    api/tokens.py    officers' signed bearer tokens
    api/posts.py     post ids and who holds each post now (the directory topic)
    api/kafka.py     one shared producer; a POST awaits its acknowledgement
    api/store.py     the Postgres reads
    api/ratelimit.py per-key token buckets
    api/errors.py    errors in the Open311 format
    api/cli.py       `sankalp api`, `sankalp officer token`
"""
