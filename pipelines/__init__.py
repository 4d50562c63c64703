"""Write path: read district exports, map them to the interchange format, check
them against the data contracts, and load them atomically into the DuckDB warehouse."""
