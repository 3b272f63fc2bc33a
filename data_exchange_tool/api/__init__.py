"""
The REST API of import jobs (Django REST framework).

One line in the project's URLconf routes every registered job type::

    path("api/", include("data_exchange_tool.api.urls"))

which serves ``imports/<job type slug>/`` for each proxy of ``ImportJob`` (see ``api.urls``).
Nothing here is imported by the rest of the library, so projects without the API never load it.
"""

from __future__ import annotations
