"""The inbox: open tasks for the user's role and scope, read from the human-task table only."""
