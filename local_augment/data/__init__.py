"""Rows and files: the record types, input and eval-set formats, atomic writes."""
