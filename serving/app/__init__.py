"""The planners' web app: FastAPI + Jinja2 pages with HTMX, Plotly charts, a JSON API."""
