"""Static assets of the contactd agent console, queue board and citizen chat (served by contactd)."""
