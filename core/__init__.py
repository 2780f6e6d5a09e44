"""The ground floor: what every app shares and nothing app-specific. Imports no app.
Errors and their one handler, strict serializers and query filters, the JSON parser,
request ids and JSON logs, shared metrics plumbing, environment helpers, the contract check."""
