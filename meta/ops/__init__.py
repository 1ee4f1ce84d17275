"""One module per namespace operation: validate, resolve, mutate, in one transaction.

Each exposes `run(ctx, tr, request) -> response`: a synchronous body that
may run more than once (the KV retries it), so it touches nothing but `tr`.
Semantic choices (POSIX vs. what a distributed namespace can afford) are
stated at the top of each module.
"""
