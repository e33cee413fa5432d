"""People and organisations: regions, schools, departments, the operator, users and their roles."""
