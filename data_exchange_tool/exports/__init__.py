"""Exports: a filtered queryset in, rows rendered through a serializer, a file out."""
