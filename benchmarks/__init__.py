"""Benchmarks of `provision` against the bundled emulator (not tests; see README "Performance")."""
