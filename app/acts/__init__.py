"""Monthly acts of services rendered: submission, contingent verification, acceptance."""
