"""Hash-chained audit trail: every state change writes one event; tampering breaks the chain."""
