"""Entry points behind the thin event-driven handlers, one module per function so each imports only what it uses."""
