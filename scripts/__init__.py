"""The book's example programs (chapters 1-3 and the blog seeds), importable so tests can call ``main``."""
