"""The streaming HTTP API: the Review page's run, as Server-Sent Events for any client."""
