"""Periodic reports for the credit office, written from the published internal export (never the warehouse)."""
