"""The board summary report: a public-safe PDF and HTML read in ten minutes (docs/REPORT.md).

Numbers come from access.metric_tables and the named queries of sql/report/, all counts pass through
one suppressed release for the board role, and the text is written from the published numbers only.

    from reports.build import generate
    result = generate("data/warehouse.duckdb", "2024-25", fmt="pdf")
"""
