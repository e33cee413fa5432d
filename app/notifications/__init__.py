"""In-app notifications (the bell) and the e-mail outbox."""
