"""Orchestration: the main-job launcher and the GitHub Actions workflow exporter."""
