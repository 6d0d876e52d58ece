"""Serving exported generators: TF Serving's REST API and a gallery page (``emojigan serve``)."""
