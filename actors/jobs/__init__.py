"""Scheduled jobs: cron schedules whose deadlines sit in the runtime's one timer heap."""
