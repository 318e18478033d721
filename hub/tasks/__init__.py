"""Background jobs (RQ). See hub.tasks.queue for how they are enqueued."""
