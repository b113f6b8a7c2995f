"""Figures and widgets used by the book, one module per chapter."""
