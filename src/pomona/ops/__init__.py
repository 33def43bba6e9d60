"""Operations: metrics, health checks, logs and request ids, `pomona doctor`, scheduled backups."""
