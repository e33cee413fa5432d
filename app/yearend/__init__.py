"""The school's year-end report on a contract and its approval by the department head."""
