"""Dagster wiring, one folder per domain; ``c2c_assets.definitions`` loads them all."""
