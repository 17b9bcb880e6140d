"""The only package that imports Google client libraries (googleapiclient, google.auth).

Modules: `api` (GoogleApi: clients, pooled HTTP, calls), `credentials` (Target, Identity),
`errors` (wire errors -> GoogleApiError), `retry` (classification table, backoff),
`operations` (LRO and condition waiting), `pacing` (write quotas), `settings` (Timing),
`names` (resource-name helpers). Import submodules directly; this package imports nothing heavy.
"""
