"""The one way out: every request the service sends to an address an admin registered
(specs, service calls, token endpoints) goes through `outbound.http`, which checks the
address, keeps one deadline and size cap per exchange, and follows redirects hop by hop."""
