"""A real-time electronic exchange for standardized commodity contracts."""
