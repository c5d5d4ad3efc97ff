"""The running processes: scheduler, job queue and jobs, worker, serve."""
