"""One module per workload; each exposes ``register(app)`` adding its Typer command(s)."""
