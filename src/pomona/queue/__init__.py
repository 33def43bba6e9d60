"""The job queue: huey, with leases so that a task whose worker dies is run again."""
