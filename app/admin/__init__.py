"""Administration: users (create, deactivate, reset password with a forced change, role and organisation),
organisations and regions, and the audit-chain check. Administrators change; auditors read."""
