"""Notification delivery: one provider per way of reaching a person, each behind a circuit breaker.

The notifications jobs hand a provider an `Outgoing` and act on the `Result`: `sent`, `retry` (later,
by the job engine, not waited for here) or `rejected` (permanent; `INVALID_RECIPIENT` means the
address or device token is dead and should be deactivated). `registry.Delivery` picks the provider.
"""
