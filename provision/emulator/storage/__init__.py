"""Cloud Storage JSON API v1 emulation."""
