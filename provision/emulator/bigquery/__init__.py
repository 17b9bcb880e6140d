"""BigQuery v2, a minimal surface: datasets and their access, tables, streamed rows."""
