"""`bench serve`: a Starlette application on uvicorn for browsing results and pairwise human voting.

May import: bench.report, bench.human, bench.generation, bench.core.
Add here: a page (pages.py + templates/), an endpoint (server.py).
"""
