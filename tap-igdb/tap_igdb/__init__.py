"""Singer tap for the IGDB v4 API."""
