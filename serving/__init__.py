"""The planners' side: plans from the champion model, the web app and API, the store of plans and
decisions, exports, and the ``bemanning`` command line."""
