"""Call links: a meeting for an incident behind one `Conference` port (Zoom, Google Meet,
a fixed bridge), made on declare at CALL_MIN_SEVERITY or worse and by `/incident call`."""
