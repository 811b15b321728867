"""Stopping a server process the tests or the bench started."""

from seaweedfs_fixture import stop_process as stop

__all__ = ["stop"]
