"""The HTTP adapter: a thin Litestar layer over the application services."""
