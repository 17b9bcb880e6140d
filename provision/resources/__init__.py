"""Resource kinds: one module per kind (read / pure diff / create / update / delete).

`registry.get(kind)` returns a kind; `base` defines the contract; `iam` and `iam_policy` are the
shared IAM machinery; `symbols` resolves values known only after apply (project numbers).
"""
