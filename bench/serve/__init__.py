"""`bench serve`: a Starlette application on uvicorn for browsing results and pairwise human voting."""
