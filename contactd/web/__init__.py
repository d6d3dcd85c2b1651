"""HTTP and WebSocket endpoints of contactd (the edge: errors become statuses and frames here)."""
