"""Imports: a file in, rows validated through the job type's serializer, writes in batches."""
