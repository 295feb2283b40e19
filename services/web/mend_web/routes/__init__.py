"""The web app's pages, one module per area, each with `router()`; listed in `app.PARTS`."""
