"""Static print figures: maps and charts drawn with matplotlib for reports (PNG and PDF)."""
