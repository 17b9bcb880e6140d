"""Cloud Healthcare v1 admin API emulation."""
