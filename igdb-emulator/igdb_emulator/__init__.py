"""A faithful local IGDB API v4 emulator with a seeded synthetic data generator."""

from igdb_emulator.changes import DayChange
from igdb_emulator.dataset import Dataset
from igdb_emulator.faults import Fault, HeldRequest
from igdb_emulator.latency import LatencyModel
from igdb_emulator.server import Emulator, EmulatorConfig, LoggedRequest

__all__ = [
    "Dataset",
    "DayChange",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "HeldRequest",
    "LatencyModel",
    "LoggedRequest",
]
