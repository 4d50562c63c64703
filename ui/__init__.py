"""Drawing helpers shared by the pages: the page context (viewer, filters,
warehouse version), charts with their numbers and downloads, and number
formatting. Pages draw with these; they never build SQL or decide access."""
