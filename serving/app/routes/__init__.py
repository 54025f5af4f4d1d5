"""Thin route modules: parse the request, call :mod:`serving.app.services`, render or return."""
