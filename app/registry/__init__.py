"""National registries (NEDB students, licences, business register) behind one adapter interface."""
