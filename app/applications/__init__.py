"""A school's application to a state order, its eligibility check against the registries, the allocation."""
