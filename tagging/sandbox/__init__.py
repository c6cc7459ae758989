"""A local FastAPI sandbox that speaks the Atlas, Nekt and Immuta tagging APIs.

`create_app` builds it in-process; `serve` runs it with uvicorn (`python -m tagging sandbox`).
"""
