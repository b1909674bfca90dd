"""The local stack: the whole system on one machine, without Docker (`make run`); see docs/local-stack.md.

Modules: `stack` (moto, resources, lifecycle), `gateway` (HTTP API + JWT authorizer, payload 2.0), `lambdas`
(functions loaded from template.yaml), `pollers` (SQS event sources, EventBridge tap, schedule, redrive),
`openapi`, `jwt_local` / `token` (development tokens), `client` (for the demo and e2e tests), `redrive` (CLI).
Kept import-free so `python -m local.token` starts fast.
"""
