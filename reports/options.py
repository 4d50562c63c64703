"""What a board report can be asked for, in a module light enough for the command line's parser to import
(reports.build pulls in the charts and every metric)."""

from __future__ import annotations

FORMATS = ("pdf", "html")
DEFAULT_DISTRICT = "School district"
