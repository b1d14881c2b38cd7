"""The Faust application, its settings and its topic catalogue."""
